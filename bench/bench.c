/*
 * The summary helpers of bench.h. Medians and p90 rather than means: a
 * single page fault or scheduler hiccup must not move the headline number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void
bench_stats(double *v, size_t n, struct bench_stats *st)
{
	size_t k;

	qsort(v, n, sizeof(*v), bench_cmp);
	st->n = n;
	st->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	/* Nearest rank: the smallest sample with 90% at or below it. */
	k = (n * 9 + 9) / 10;
	st->p90 = v[k > 0 ? k - 1 : 0];
}

void
bench_title(const char *title)
{
	printf("\n== %s ==\n", title);
}

void
bench_columns(void)
{
	printf("  %-48s %7s %12s %12s\n", "", "n", "median", "p90");
}

void
bench_row(const char *label, const struct bench_stats *st, double scale,
    const char *unit, const char *note)
{
	printf("  %-48s %7zu %9.3f %-2s %9.3f %-2s%s%s\n", label, st->n,
	    st->median / scale, unit, st->p90 / scale, unit,
	    note != NULL ? "  " : "", note != NULL ? note : "");
}

void
bench_verdict(const char *what, double median, double budget,
    const char *unit)
{
	printf("  %s: median %.3f %s = %.2fx the %g %s budget: %s\n", what,
	    median, unit, median / budget, budget, unit,
	    median <= budget ? "PASS" : "OVER");
}
