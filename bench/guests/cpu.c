/*
 * The capsule bench's CPU-bound program, built natively and for
 * wasm32-wasi from this one file: a prime sieve, a 64-bit hash mix and a
 * small matrix product, all checked by one printed sum so that neither
 * build can skip work.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIEVE_N		4000000
#define MAT_N		160

static uint8_t	composite[SIEVE_N];
static double	a[MAT_N][MAT_N], b[MAT_N][MAT_N], c[MAT_N][MAT_N];

static uint64_t
sieve(void)
{
	uint64_t count = 0;
	uint64_t i, j;

	memset(composite, 0, sizeof(composite));
	for (i = 2; i < SIEVE_N; i++) {
		if (composite[i])
			continue;
		count += i;
		for (j = i * i; j < SIEVE_N; j += i)
			composite[j] = 1;
	}
	return count;
}

static uint64_t
mix(uint64_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL, i;

	for (i = 0; i < n; i++) {
		x ^= x >> 30;
		x *= 0xbf58476d1ce4e5b9ULL;
		x ^= x >> 27;
		x *= 0x94d049bb133111ebULL;
		x ^= x >> 31;
		x += i;
	}
	return x;
}

static double
matmul(void)
{
	double s = 0;
	int i, j, k;

	for (i = 0; i < MAT_N; i++)
		for (j = 0; j < MAT_N; j++) {
			a[i][j] = (double)(i + j) / MAT_N;
			b[i][j] = (double)(i - j) / MAT_N;
		}
	for (i = 0; i < MAT_N; i++)
		for (j = 0; j < MAT_N; j++) {
			double t = 0;

			for (k = 0; k < MAT_N; k++)
				t += a[i][k] * b[k][j];
			c[i][j] = t;
			s += t;
		}
	return s;
}

int
main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 4, r;
	uint64_t sum = 0;
	double m = 0;

	for (r = 0; r < rounds; r++) {
		sum += sieve();
		sum ^= mix(20000000);
		m += matmul();
	}
	printf("%llu %.3f\n", (unsigned long long)sum, m);
	return 0;
}
