/*
 * ward.toml, the project manifest (DESIGN §3), read into one structure.
 * The manifest is the user's whole grant to the agent, so reading it is
 * strict: an unknown key, a wrong type, a bad enum value, a bad command
 * pattern or host pattern is an error with "FILE:LINE:COL: ...", never a
 * silently ignored line. Every key, its type and its default is listed in
 * doc/MANIFEST.md.
 */
#ifndef WARD_MANIFEST_H
#define WARD_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/buf.h"
#include "cmdpat.h"

#define MANIFEST_MAX_BYTES	(1024 * 1024)	/* a larger file is refused */

enum manifest_provider {
	MANIFEST_PROVIDER_NONE,		/* no [model] provider given */
	MANIFEST_PROVIDER_ANTHROPIC,
	MANIFEST_PROVIDER_OPENAI,
	MANIFEST_PROVIDER_OPENROUTER,
	MANIFEST_PROVIDER_OPENAI_COMPATIBLE,
	MANIFEST_PROVIDER_SCRIPT,
};

enum manifest_fs {		/* [sandbox.os] command_fs */
	MANIFEST_FS_NONE,
	MANIFEST_FS_SYSTEM,
	MANIFEST_FS_PERMISSIVE,
	MANIFEST_FS_ALL,
};

enum manifest_redirects {	/* [security] redirects */
	MANIFEST_REDIR_NONE,
	MANIFEST_REDIR_MERGE,
	MANIFEST_REDIR_FILES,
};

/* A list of NUL-terminated strings; v is NULL when n is 0. */
struct manifest_strs {
	char	**v;
	size_t	  n;
};

struct manifest_header {
	char	*name;
	char	*value;
};

/* One entry of `paths`: a bare string has has_files 0 (default_files
 * apply); a table { path, files } has has_files 1. */
struct manifest_path {
	char			*path;
	int			 has_files;
	struct manifest_strs	 files;
};

/* [capabilities.allow|deny.read|write] */
struct manifest_files {
	struct manifest_strs	 default_files;
	struct manifest_path	*paths;
	size_t			 npaths;
	struct manifest_strs	 additional_directories;
};

/* What an allow command pattern grants besides running; parallel to
 * manifest.allow. A bare string pattern has all lists empty and
 * inherit_default_domains 1. */
struct manifest_grant {
	struct manifest_strs	 paths;
	struct manifest_strs	 env_vars;
	struct manifest_strs	 domains;	/* valid host patterns */
	struct manifest_strs	 secrets;
	int			 inherit_default_domains;
	int			 approve_each;	/* approve = "each": the user
						   is asked every time, even
						   when the pattern allows */
};

/* [secrets.NAME]: further limits on a command holding the secret NAME. */
struct manifest_secret {
	char			*name;		/* [A-Za-z_][A-Za-z0-9_]* */
	int			 has_hosts;	/* hosts was given */
	struct manifest_strs	 hosts;		/* the only egress hosts a
						   command holding it may
						   reach (host patterns) */
};

struct manifest {
	int64_t			 schema_version;	/* always 1 */

	struct {
		enum manifest_provider	 provider;
		char			*name;		/* NULL: not given */
		char			*base_url;	/* NULL: not given */
		int64_t			 max_tokens;
		int64_t			 context_length;
		struct manifest_header	*headers;
		size_t			 nheaders;
	} model;

	struct manifest_files	 allow_read, allow_write;
	struct manifest_files	 deny_read, deny_write;

	struct manifest_strs	 default_domains;	/* host patterns */
	struct manifest_strs	 default_env_vars;
	struct cmdpat		*allow;		/* allow patterns, prompt set
						   for prompt = true */
	struct manifest_grant	*grants;	/* grants[i] goes with allow[i] */
	size_t			 nallow;
	struct cmdpat		*deny;
	size_t			 ndeny;
	struct cmdpat_index	*cmdindex;	/* over allow and deny */
	struct manifest_strs	 deny_domains;		/* host patterns */
	struct manifest_strs	 deny_env_vars;

	enum manifest_fs	 command_fs;
	int			 command_mask_secrets;

	int64_t			 command_timeout;	/* seconds, > 0 */
	int64_t			 max_output_bytes;	/* > 0 */

	struct {
		int			 allow_pipes;
		int			 allow_compound;
		int			 allow_subshells;
		int			 allow_background;
		enum manifest_redirects	 redirects;
		int			 allow_runtime_expansion;
	} security;

	struct manifest_secret	*secrets;	/* [secrets.NAME], in order */
	size_t			 nsecrets;

	struct {
		int64_t		 read_bytes;	/* per read_file call */
		int64_t		 list_entries;	/* per list_dir call */
		int64_t		 grep_matches;	/* per grep call */
	} limits;
};

/*
 * Reads (manifest_read) and checks the manifest at path. Returns 0 and sets
 * *out (free with manifest_free); on failure *out is NULL and one message
 * is appended to err (may be NULL): "PATH:LINE:COL: what is wrong" for bad
 * contents, "PATH: why" when the file cannot be read. Returns WARD_EINVAL
 * (bad contents, TOML syntax included; not a regular file), WARD_ENOENT (no
 * such file), WARD_EIO, WARD_ETOOBIG (over MANIFEST_MAX_BYTES) or
 * WARD_ENOMEM.
 */
int	manifest_load(const char *path, struct manifest **out,
	    struct buf *err);

/*
 * Appends the bytes of the manifest file at path to text (whose cap should
 * be MANIFEST_MAX_BYTES). Only a regular file is read: a symbolic link (as
 * the last component) or anything else is WARD_EINVAL, so the file that is
 * approved, decided and edited is the one at path. Returns 0, WARD_ENOENT,
 * WARD_EINVAL, WARD_EIO, WARD_ETOOBIG or WARD_ENOMEM, with "PATH: why"
 * appended to err (may be NULL).
 */
int	manifest_read(const char *path, struct buf *text, struct buf *err);

/* Same as manifest_load from data[0..len); name labels the messages. */
int	manifest_parse(const char *name, const char *data, size_t len,
	    struct manifest **out, struct buf *err);

/* Frees a manifest; NULL is a no-op. */
void	manifest_free(struct manifest *m);

/* Fills *r with the manifest's command rules. The arrays stay owned by m
 * and are valid until manifest_free(m); r needs no freeing. The file
 * callback for redirects is left NULL (policy.h sets it: it needs the
 * project root). */
void	manifest_cmdrules(const struct manifest *m, struct cmdpat_rules *r);

/* The provider's name as written in ward.toml ("" for NONE); never NULL. */
const char *manifest_provider_name(enum manifest_provider p);

#endif
