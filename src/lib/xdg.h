/*
 * ward's directories (DESIGN §4 "Paths"), per the XDG base directory spec.
 * Each returned path is malloc'd (caller frees) and has been created with
 * mode 0700 if it did not exist; an existing directory that other users can
 * write is refused, because these hold keys, approvals and audit logs.
 */
#ifndef WARD_XDG_H
#define WARD_XDG_H

enum xdg_kind {
	XDG_CONFIG,	/* $XDG_CONFIG_HOME/ward  (~/.config/ward) */
	XDG_STATE,	/* $XDG_STATE_HOME/ward   (~/.local/state/ward) */
	XDG_DATA,	/* $XDG_DATA_HOME/ward    (~/.local/share/ward) */
	XDG_RUNTIME,	/* $XDG_RUNTIME_DIR/ward, else $XDG_STATE_HOME/ward/run */
};

/* Returns 0 and *out, or WARD_EINVAL (no HOME, relative XDG variable),
 * WARD_EDENIED (group/world-writable or foreign-owned), WARD_ESYS. */
int	xdg_dir(enum xdg_kind kind, char **out);

/* Creates `path` and its missing parents with mode 0700. Returns 0 (path
 * is a directory), WARD_EINVAL (longer than PATH_MAX) or WARD_ESYS. */
int	xdg_mkdirs(const char *path);

#endif
