/*
 * The capsule: runs one untrusted WASI command under wasmtime (a preview 1
 * core module exporting _start, or a preview 2 component exporting
 * wasi:cli/run) with only what the caller grants (preopened directories,
 * environment, arguments, stdin bytes) and hard limits on fuel, linear
 * memory, wall time, instances/tables/memories and captured output. No
 * socket, clock-free host state or host environment is reachable. Used by
 * `ward capsule run` and by the agent's code_run tool.
 */
#ifndef WARD_CAPSULE_H
#define WARD_CAPSULE_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/buf.h"

/* Defaults (a 0 in the spec selects them) and ceilings. */
#define CAPSULE_FUEL_DEFAULT	100000000000ULL	/* 10^11: seconds of work */
#define CAPSULE_MEMORY_DEFAULT	(256ULL << 20)
#define CAPSULE_MEMORY_MAX	(4ULL << 30)	/* wasm32's address space */
#define CAPSULE_TIMEOUT_DEFAULT	10000		/* ms */
#define CAPSULE_TIMEOUT_MAX	86400000	/* ms */
#define CAPSULE_OUTPUT_DEFAULT	(1u << 20)	/* per stream */
#define CAPSULE_MODULE_MAX	(64u << 20)	/* bytes of .wasm */
#define CAPSULE_COMPILE_MEMORY	(1ULL << 30)	/* the child's writable
						 * memory while it compiles */

/* capsule_run re-executes the current program as
 * `argv[0] capsule CAPSULE_CHILD_ARG`; that program's main must then call
 * capsule_child_main (ward's does, through `ward capsule`). */
#define CAPSULE_CHILD_ARG	"--capsule-child"

/* One preopened directory. */
struct capsule_dir {
	const char	*host;		/* an existing host directory */
	const char	*guest;		/* its name in the guest; NULL: host */
	int		 writable;	/* 0: read-only */
};

struct capsule_spec {
	const char		 *module;	/* path of the .wasm file */
	const char *const	 *argv;		/* argv[1..]; argv[0] is the
						 * module's base name */
	size_t			  argc;
	const char *const	 *env;		/* "K=V" strings, nothing else */
	size_t			  nenv;
	const struct capsule_dir *dirs;
	size_t			  ndirs;
	const void		 *stdin_data;	/* NULL: stdin is at EOF */
	size_t			  stdin_len;
	uint64_t		  fuel;		/* 0: CAPSULE_FUEL_DEFAULT */
	uint64_t		  memory;	/* bytes; 0: default */
	unsigned		  timeout_ms;	/* 0: default */
	size_t			  output_max;	/* per stream; 0: default */
	const char		 *cache_dir;	/* compiled modules; NULL: none */
};

/* Why the program stopped. */
enum capsule_stop {
	CAPSULE_EXITED,		/* returned or called proc_exit: exit_code
				 * (a component's is 0 or 1: wasi:cli 0.2
				 * has only ok and err) */
	CAPSULE_TIMEOUT,	/* wall time ran out */
	CAPSULE_FUEL,		/* fuel ran out */
	CAPSULE_MEMORY,		/* stopped with its memory at the limit */
	CAPSULE_STACK,		/* call stack overflow */
	CAPSULE_TRAP,		/* any other trap (message says which) */
};

struct capsule_result {
	enum capsule_stop stop;
	int		 exit_code;	/* the program's; 0..255 when EXITED */
	struct buf	 out;		/* captured stdout, at most output_max */
	struct buf	 err;		/* captured stderr, at most output_max */
	int		 out_truncated;	/* more was written and dropped */
	int		 err_truncated;
	char		 message[160];	/* "" when EXITED with 0, else why */
	uint64_t	 fuel_consumed;
	uint64_t	 peak_memory;	/* bytes of linear memory at the end
					 * (a component's: see CAPSULE.md) */
	uint64_t	 duration_us;	/* instantiation to stop */
	int		 from_cache;	/* the compiled module came from cache */
};

/* Short lowercase name of a stop ("exit", "timeout", "fuel", "memory",
 * "stack_overflow", "trap"); static, never NULL. */
const char	*capsule_stop_name(enum capsule_stop stop);

/*
 * Runs spec->module in a child process (see CAPSULE_CHILD_ARG), which is
 * SIGKILLed at the deadline wherever it is, compiling included. Returns 0 when the program ran, whatever its outcome
 * (*r says how it stopped; clear it with capsule_result_clear), or, with a
 * message in err: WARD_ENOENT (no module file), WARD_ETOOBIG (module over
 * CAPSULE_MODULE_MAX), WARD_EINVAL (not a WASI command module or
 * component, an import the capsule does not provide, a bad directory,
 * argument or variable),
 * WARD_ENOMEM, WARD_ESYS. *r is initialised in every case.
 */
int	capsule_run(const struct capsule_spec *spec, struct capsule_result *r,
	    struct buf *err);

/*
 * The child side of capsule_run: reads the spec from stdin, runs it and
 * reports to stdout in capsule_run's frames. Returns the process's exit
 * status (0 when it reported, 111 when it could not). Only for a process
 * that capsule_run started.
 */
int	capsule_child_main(void);

/* Frees what *r holds and leaves it empty. NULL ok. */
void	capsule_result_clear(struct capsule_result *r);

#endif
