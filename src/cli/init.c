/*
 * `ward init [--type T]` (DESIGN §4): writes a narrow starter ward.toml for
 * the project's ecosystem, then runs the approval flow. The starter allows
 * reading the project (keys and .env files hidden), writing its sources,
 * the ecosystem's usual build and test commands and git's read-only
 * commands silently; every other command prompts, so the manifest grows
 * only by the user's answers.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct init_type {
	const char	*name;
	const char	*markers[4];	/* files that identify it */
	const char	*write;		/* allow.write paths */
	const char	*commands;	/* allow.commands patterns */
};

static const struct init_type init_types[] = {
	{ "rust", { "Cargo.toml", NULL },
	    "\"src/**\", \"tests/**\", \"benches/**\", \"examples/**\",\n"
	    "  { path = \".\", files = [\"Cargo.toml\", \"Cargo.lock\"] },",
	    "\"cargo build:*\", \"cargo check:*\", \"cargo test:*\",\n"
	    "  \"cargo clippy:*\", \"cargo fmt:*\"," },
	{ "node", { "package.json", NULL },
	    "\"src/**\", \"test/**\", \"tests/**\", \"lib/**\",\n"
	    "  { path = \".\", files = [\"package.json\"] },",
	    "\"npm test\", \"npm run test:*\", \"npm run build\",\n"
	    "  \"npm run lint:*\"," },
	{ "go", { "go.mod", NULL },
	    "\"**\",",
	    "\"go build:*\", \"go test:*\", \"go vet:*\", \"gofmt -l:*\"," },
	{ "python", { "pyproject.toml", "setup.py", "requirements.txt", NULL },
	    "\"src/**\", \"tests/**\", \"test/**\",\n"
	    "  { path = \".\", files = [\"*.py\", \"pyproject.toml\"] },",
	    "\"pytest:*\", \"python -m pytest:*\", \"python3 -m pytest:*\",\n"
	    "  \"python3 -m unittest:*\"," },
	{ "c", { "Makefile", "CMakeLists.txt", "configure.ac", "meson.build" },
	    "\"src/**\", \"include/**\", \"tests/**\", \"test/**\",",
	    "\"make\", \"make all\", \"make test\", \"make check\",\n"
	    "  \"cmake --build:*\", \"ctest:*\"," },
	{ "generic", { NULL }, "", "" },
};

static void
init_usage(FILE *f)
{
	fputs("usage: ward init [--type rust|node|go|python|c|generic] "
	    "[--yes]\n\n"
	    "Writes a starter ward.toml in the current directory for the "
	    "project type\n(detected from Cargo.toml, package.json, go.mod, "
	    "pyproject.toml, setup.py,\nrequirements.txt, Makefile, "
	    "CMakeLists.txt, ...), then approves it as\n`ward approve` does "
	    "(--yes: without asking). It allows the usual build\nand test "
	    "commands and git's read-only ones; every other command "
	    "prompts.\nAn existing ward.toml is never overwritten.\n", f);
}

static const struct init_type *
init_detect(void)
{
	size_t i, j;

	for (i = 0; i < sizeof(init_types) / sizeof(init_types[0]) - 1; i++)
		for (j = 0; j < 4 && init_types[i].markers[j] != NULL; j++)
			if (access(init_types[i].markers[j], F_OK) == 0)
				return &init_types[i];
	return &init_types[i];
}

static int
init_write(const struct init_type *t)
{
	FILE *f;
	int fd;

	/* O_EXCL: never replace a manifest, not even through a link. */
	if ((fd = open("ward.toml", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		perror("ward init: ward.toml");
		if (fd != -1)
			close(fd);
		return -1;
	}
	fprintf(f, "# Written by `ward init --type %s`: a narrow start. Commands "
	    "not listed\n# below prompt; your answers (Allow always, Deny "
	    "always) are added here.\n# See doc/MANIFEST.md.\nschema_version = "
	    "1\n\n[model]\nprovider = \"anthropic\"\nname = "
	    "\"claude-sonnet-4-5\"\n\n"
	    "[capabilities.allow.read]\npaths = [\"**\"]\n\n"
	    "[capabilities.allow.write]\npaths = [\n  %s\n]\n\n"
	    "[capabilities.allow.commands]\npatterns = [\n  %s\n"
	    "  \"git status:*\", \"git diff:*\", \"git log:*\", \"git show:*\",\n"
	    "  \"git branch\", \"git rev-parse:*\", \"git ls-files:*\",\n]\n\n"
	    "[capabilities.deny.read]\ndefault_files = [\"*.key\", \"*.pem\", "
	    "\".env\", \".env.*\", \"id_rsa*\", \"id_ed25519*\"]\n"
	    "paths = [\"**\"]\n\n"
	    "[capabilities.deny.commands]\npatterns = [\"sudo:*\", \"doas:*\", "
	    "\"su:*\", \"git push:*\"]\n", t->name, t->write, t->commands);
	if (fclose(f) != 0) {
		perror("ward init: ward.toml");
		return -1;
	}
	return 0;
}

int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "type",	required_argument, NULL, 't' },
		{ "yes",	no_argument, NULL, 'y' },
		{ "help",	no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *av[] = { "approve", "--yes", NULL };
	const struct init_type *t = NULL;
	size_t i;
	int c, yes = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+hy", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			for (i = 0; i < sizeof(init_types) /
			    sizeof(init_types[0]); i++)
				if (strcmp(optarg, init_types[i].name) == 0)
					t = &init_types[i];
			if (t == NULL) {
				fprintf(stderr, "ward init: unknown type '%s'\n",
				    optarg);
				init_usage(stderr);
				return WARD_EXIT_USAGE;
			}
			break;
		case 'y':
			yes = 1;
			break;
		case 'h':
			init_usage(stdout);
			return WARD_EXIT_OK;
		default:
			init_usage(stderr);
			return WARD_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		init_usage(stderr);
		return WARD_EXIT_USAGE;
	}
	if (t == NULL)
		t = init_detect();
	if (access("ward.toml", F_OK) == 0) {
		fputs("ward init: ward.toml exists already; edit it and run "
		    "`ward approve`\n", stderr);
		return WARD_EXIT_FAIL;
	}
	if (init_write(t) != 0)
		return WARD_EXIT_SYSERR;
	printf("Wrote ward.toml for a %s project.\n\n", t->name);
	fflush(stdout);
	return cmd_approve(yes ? 2 : 1, av);
}
