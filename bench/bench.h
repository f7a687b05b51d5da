/*
 * Shared by the benchmark drivers: a monotonic clock and the summary lines.
 * Every result is printed as median and p90 beside a baseline measured in
 * the same run, then as a ratio to its DESIGN §7 budget with PASS or OVER.
 * Nothing here fails a build: the numbers are for people to read.
 */
#ifndef WARD_BENCH_H
#define WARD_BENCH_H

#include <stddef.h>
#include <stdint.h>

struct bench_stats {
	size_t	n;
	double	median;
	double	p90;
};

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t	bench_now_ns(void);

/* Sorts v (n > 0 samples, any unit) in place and fills *st: the median
 * (mean of the middle two for even n) and the nearest-rank p90. */
void	bench_stats(double *v, size_t n, struct bench_stats *st);

/* Prints the title of a result table. */
void	bench_title(const char *title);

/* Prints the column names of the rows that follow. */
void	bench_columns(void);

/* Prints one row: label, n, median and p90 divided by `scale` and
 * followed by `unit`, and an optional note (NULL: none). */
void	bench_row(const char *label, const struct bench_stats *st,
	    double scale, const char *unit, const char *note);

/* Prints "<what> median X unit = R x the B unit budget: PASS|OVER", where
 * PASS means median <= budget. Both are in the same unit. */
void	bench_verdict(const char *what, double median, double budget,
	    const char *unit);

#endif
