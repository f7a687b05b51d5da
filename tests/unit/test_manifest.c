/*
 * The manifest reader (DESIGN §3): the design's own example loads with the
 * values it shows; every mistake a user can make (a typo'd key in any
 * table, a wrong type, a bad enum, a bad pattern or domain) is an error at
 * the right line and column; missing sections get the documented defaults.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "policy/manifest.h"
#include "tap.h"
#include "util.h"
#include "example.h"


static struct buf errb;

/* Parses text; returns the WARD_E* code, the message is in errb. */
static int
load(const char *text, struct manifest **m)
{
	buf_reset(&errb);
	return manifest_parse("t.toml", text, strlen(text), m, &errb);
}

/* The error for text, which must fail; "" when it loads. */
static const char *
fail(const char *text)
{
	struct manifest *m;

	if (load(text, &m) == 0) {
		manifest_free(m);
		return "";
	}
	return errb.data ? errb.data : "(no message)";
}

#define HDR "schema_version = 1\n"
#define CRED	" looks like a credential: every command would get it; " \
	"name it in the env_vars of the grant that needs it, or keep it in " \
	"the vault (ward secret set) and name it in that grant's secrets"

static void
test_example(void)
{
	struct manifest *m = NULL;
	int rc;

	rc = load(example, &m);
	is_int(rc, 0, "the DESIGN example loads");
	if (rc != 0) {
		printf("# %s\n", errb.data);
		return;
	}
	is_int(m->model.provider, MANIFEST_PROVIDER_ANTHROPIC, "provider");
	is_str(manifest_provider_name(m->model.provider), "anthropic",
	    "provider name");
	is_str(m->model.name, "claude-sonnet-4-5", "model name");
	ok(m->model.base_url == NULL, "no base_url");
	is_int(m->allow_read.default_files.n, 4, "read default_files");
	is_str(m->allow_read.default_files.v[3], "Makefile", "in order");
	is_int(m->allow_read.npaths, 3, "read paths");
	is_str(m->allow_read.paths[0].path, "src/**", "a string path");
	ok(!m->allow_read.paths[0].has_files, "without files");
	is_str(m->allow_read.paths[2].path, ".", "a table path");
	ok(m->allow_read.paths[2].has_files &&
	    m->allow_read.paths[2].files.n == 1 &&
	    strcmp(m->allow_read.paths[2].files.v[0], "README.md") == 0,
	    "with its files");
	is_int(m->allow_write.npaths, 2, "write paths");
	is_int(m->nallow, 5, "five allow patterns");
	is_str(m->allow[1].text, "git:*", "a table pattern");
	ok(m->allow[1].prompt, "prompt = true");
	ok(!m->allow[0].prompt, "a bare string does not prompt");
	is_int(m->grants[4].domains.n, 1, "gh's domains");
	is_str(m->grants[4].domains.v[0], "api.github.com", "gh's domain");
	is_str(m->grants[4].secrets.v[0], "GH_TOKEN", "gh's secret");
	ok(m->grants[4].inherit_default_domains, "inherits by default");
	is_int(m->ndeny, 2, "two deny patterns");
	is_str(m->deny[1].text, "curl:*", "curl denied");
	is_str(m->deny_env_vars.v[0], "AWS_SECRET_ACCESS_KEY", "deny env");
	is_int(m->deny_read.default_files.n, 4, "deny read files");
	is_int(m->command_fs, MANIFEST_FS_SYSTEM, "command_fs");
	ok(m->command_mask_secrets, "command_mask_secrets");
	is_int(m->command_timeout, 120, "command_timeout");
	is_int(m->max_output_bytes, 30000, "max_output_bytes");
	ok(m->security.allow_pipes && m->security.allow_compound &&
	    !m->security.allow_subshells && !m->security.allow_background,
	    "security booleans");
	is_int(m->security.redirects, MANIFEST_REDIR_MERGE, "redirects");
	ok(m->security.allow_runtime_expansion, "runtime expansion");
	manifest_free(m);
}

static void
test_defaults(void)
{
	struct manifest *m = NULL;

	is_int(load(HDR, &m), 0, "schema_version alone loads");
	if (m == NULL)
		return;
	is_int(m->model.provider, MANIFEST_PROVIDER_NONE, "no provider");
	ok(m->model.name == NULL, "no model name");
	is_int(m->model.max_tokens, 8192, "default max_tokens");
	is_int(m->model.context_length, 200000, "default context_length");
	ok(m->nallow == 0 && m->ndeny == 0, "no command patterns");
	ok(m->allow_read.npaths == 0 && m->allow_write.npaths == 0,
	    "nothing readable or writable");
	is_int(m->command_fs, MANIFEST_FS_SYSTEM, "default command_fs");
	ok(m->command_mask_secrets, "masks secrets by default");
	is_int(m->command_timeout, 120, "default command_timeout");
	is_int(m->max_output_bytes, 30000, "default max_output_bytes");
	ok(m->security.allow_pipes && m->security.allow_compound &&
	    !m->security.allow_subshells && !m->security.allow_background &&
	    m->security.redirects == MANIFEST_REDIR_MERGE &&
	    m->security.allow_runtime_expansion, "default [security]");
	is_int(m->limits.read_bytes, 1048576, "default read_bytes");
	is_int(m->limits.list_entries, 1000, "default list_entries");
	is_int(m->limits.grep_matches, 200, "default grep_matches");
	manifest_free(m);

	is_int(load(HDR "[model]\nprovider = \"openai-compatible\"\n"
	    "name = \"m\"\nbase_url = \"http://127.0.0.1:8080\"\n"
	    "max_tokens = 100\ncontext_length = 4096\n"
	    "headers = { \"X-A\" = \"1\", b = \"two\" }\n"
	    "[limits]\nread_bytes = 10\nlist_entries = 5\n"
	    "grep_matches = 7\n", &m), 0, "model and limits load");
	if (m == NULL)
		return;
	is_int(m->model.provider, MANIFEST_PROVIDER_OPENAI_COMPATIBLE,
	    "openai-compatible");
	is_str(m->model.base_url, "http://127.0.0.1:8080", "base_url");
	ok(m->model.max_tokens == 100 && m->model.context_length == 4096,
	    "max_tokens, context_length");
	ok(m->model.nheaders == 2 &&
	    strcmp(m->model.headers[0].name, "X-A") == 0 &&
	    strcmp(m->model.headers[1].value, "two") == 0, "headers");
	ok(m->limits.read_bytes == 10 && m->limits.list_entries == 5 &&
	    m->limits.grep_matches == 7, "limits");
	manifest_free(m);
}

static void
test_unknown(void)
{
	static const struct {
		const char	*text, *want, *what;
	} c[] = {
		{ HDR "shema = 1\n", "t.toml:2:1: unknown key 'shema' in the "
		    "top level", "top level" },
		{ HDR "[model]\nprovider = \"openai\"\nnmae = \"x\"\n",
		    "t.toml:4:1: unknown key 'nmae' in [model]; did you mean "
		    "'name'?", "[model]" },
		{ HDR "[capabilities]\nalow = {}\n", "t.toml:3:1: unknown key "
		    "'alow' in [capabilities]; did you mean 'allow'?",
		    "[capabilities]" },
		{ HDR "[capabilities.allow]\nreed = {}\n", "t.toml:3:1: "
		    "unknown key 'reed' in [capabilities.allow]; did you mean "
		    "'read'?", "[capabilities.allow]" },
		{ HDR "[capabilities.allow.read]\npath = []\n", "t.toml:3:1: "
		    "unknown key 'path' in [capabilities.allow.read]; did you "
		    "mean 'paths'?", "[capabilities.allow.read]" },
		{ HDR "[capabilities.deny.write]\n  default_file = []\n",
		    "t.toml:3:3: unknown key 'default_file' in "
		    "[capabilities.deny.write]; did you mean 'default_files'?",
		    "[capabilities.deny.write], with its column" },
		{ HDR "[capabilities.allow.read]\npaths = [{ path = \".\", "
		    "file = [] }]\n", "t.toml:3:24: unknown key 'file' in "
		    "[capabilities.allow.read.paths]; did you mean 'files'?",
		    "a paths table" },
		{ HDR "[capabilities.allow.commands]\ndefault_domain = []\n",
		    "t.toml:3:1: unknown key 'default_domain' in "
		    "[capabilities.allow.commands]; did you mean "
		    "'default_domains'?", "[capabilities.allow.commands]" },
		{ HDR "[capabilities.allow.commands]\npatterns = [\n"
		    "  { command = \"git:*\", promt = true },\n]\n",
		    "t.toml:4:24: unknown key 'promt' in "
		    "[capabilities.allow.commands.patterns]; did you mean "
		    "'prompt'?", "a pattern table" },
		{ HDR "[capabilities.deny.commands]\nenv_var = []\n",
		    "t.toml:3:1: unknown key 'env_var' in "
		    "[capabilities.deny.commands]; did you mean 'env_vars'?",
		    "[capabilities.deny.commands]" },
		{ HDR "[sandbox]\nos.command_fss = \"all\"\n", "t.toml:3:4: "
		    "unknown key 'command_fss' in [sandbox.os]; did you mean "
		    "'command_fs'?", "[sandbox.os] by a dotted key" },
		{ HDR "[sandbox]\nnet = 1\n", "t.toml:3:1: unknown key 'net' "
		    "in [sandbox]", "[sandbox], too far to suggest" },
		{ HDR "[command_run]\ncommand_timout = 5\n", "t.toml:3:1: "
		    "unknown key 'command_timout' in [command_run]; did you "
		    "mean 'command_timeout'?", "[command_run]" },
		{ HDR "\n\n[security]\nallow_pipe = true\n", "t.toml:5:1: "
		    "unknown key 'allow_pipe' in [security]; did you mean "
		    "'allow_pipes'?", "[security]" },
		{ HDR "[limits]\nread_byte = 1\n", "t.toml:3:1: unknown key "
		    "'read_byte' in [limits]; did you mean 'read_bytes'?",
		    "[limits]" },
		{ HDR "[limits]\nwhatever = 1\n", "t.toml:3:1: unknown key "
		    "'whatever' in [limits]", "no suggestion when far" },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		is_str(fail(c[i].text), c[i].want, "unknown key: %s",
		    c[i].what);
}

static void
test_types(void)
{
	static const struct {
		const char	*text, *want, *what;
	} c[] = {
		{ "", "t.toml:1:1: schema_version = 1 is required",
		    "schema_version is required" },
		{ "schema_version = 2\n", "t.toml:1:18: schema_version 2 is "
		    "not supported (this ward reads 1)", "schema_version 2" },
		{ "schema_version = \"1\"\n", "t.toml:1:18: the top level "
		    "schema_version must be an integer, not string",
		    "schema_version as a string" },
		{ HDR "model = 3\n", "t.toml:2:9: the top level model must be "
		    "a table, not integer", "model not a table" },
		{ HDR "[model]\nprovider = \"anthropic\"\nmax_tokens = "
		    "\"big\"\n", "t.toml:4:14: [model] max_tokens must be an "
		    "integer, not string", "max_tokens as a string" },
		{ HDR "[command_run]\ncommand_timeout = 0\n", "t.toml:3:19: "
		    "[command_run] command_timeout must be greater than 0",
		    "command_timeout 0" },
		{ HDR "[command_run]\nmax_output_bytes = -5\n", "t.toml:3:20: "
		    "[command_run] max_output_bytes must be greater than 0",
		    "negative max_output_bytes" },
		{ HDR "[security]\nallow_pipes = \"yes\"\n", "t.toml:3:15: "
		    "[security] allow_pipes must be true or false, not string",
		    "a bool as a string" },
		{ HDR "[capabilities.allow.read]\ndefault_files = \"*.c\"\n",
		    "t.toml:3:17: [capabilities.allow.read] default_files must "
		    "be an array of strings, not string", "a string for an "
		    "array" },
		{ HDR "[capabilities.allow.read]\ndefault_files = [\"a\", 1]\n",
		    "t.toml:3:23: [capabilities.allow.read] default_files must "
		    "be an array of strings; this element, not integer",
		    "an integer in a string array" },
		{ HDR "[capabilities.allow.read]\npaths = [1]\n", "t.toml:3:10:"
		    " [capabilities.allow.read] paths element must be a string "
		    "or a table { path, files }, not integer", "a paths "
		    "integer" },
		{ HDR "[capabilities.allow.read]\npaths = [{ files = [] }]\n",
		    "t.toml:3:10: [capabilities.allow.read.paths] needs a path",
		    "a paths table without path" },
		{ HDR "[capabilities.allow.commands]\npatterns = [{ prompt = "
		    "true }]\n", "t.toml:3:13: "
		    "[capabilities.allow.commands.patterns]: a table needs "
		    "command", "a pattern table without command" },
		{ HDR "[capabilities.allow.commands]\npatterns = [{ command = "
		    "\"ls\", prompt = 1 }]\n", "t.toml:3:40: "
		    "[capabilities.allow.commands.patterns] prompt must be true "
		    "or false, not integer", "prompt = 1" },
		{ HDR "[capabilities.deny.commands]\npatterns = [{ command = "
		    "\"ls\" }]\n", "t.toml:3:13: [capabilities.deny.commands] "
		    "patterns element must be a string, not table",
		    "a deny pattern table" },
		{ HDR "[model]\nprovider = \"script\"\nheaders = { a = 1 }\n",
		    "t.toml:4:17: "
		    "[model.headers] a must be a string, not integer",
		    "a header integer" },
		{ HDR "[model]\nname = \"x\"\n", "t.toml:2:1: [model] needs "
		    "provider", "a model without provider" },
		{ HDR "[capabilities.allow.commands]\npatterns = [\"git  "
		    "status\", { command = \"git status\", domains = "
		    "[\"x.org\"] }]\n", "t.toml: [capabilities.allow.commands] "
		    "patterns: 'git  status' and 'git status' are the same "
		    "pattern with different grants; keep one entry", "an allow "
		    "pattern listed twice with different grants" },
		{ HDR "[capabilities.deny.read]\npaths = [\"src/[a\"]\n",
		    "t.toml: [capabilities.deny.read] deny.read paths "
		    "\"src/[a\": ", "a bad path glob is refused at load" },
		{ HDR "[capabilities.allow.write]\npaths = [\"../x\"]\n",
		    "t.toml: [capabilities.allow.write] allow.write paths "
		    "\"../x\": ", "a paths entry out of the project" },
		{ HDR "[capabilities.allow.read]\ndefault_files = [\"a/b\"]\n",
		    "t.toml: [capabilities.allow.read] allow.read default_files "
		    "\"a/b\": ", "a '/' in a file glob" },
		{ HDR "[capabilities.allow.read]\nadditional_directories = "
		    "[\"rel\"]\n", "t.toml: [capabilities.allow.read] allow.read "
		    "additional_directories \"rel\": ", "a relative additional "
		    "directory" },
		{ HDR "[model]\nprovider = \"claude\"\n", "t.toml:3:12: [model] "
		    "provider: 'claude' is not one of anthropic | openai | "
		    "openrouter | openai-compatible | script", "bad provider" },
		{ HDR "[sandbox.os]\ncommand_fs = \"some\"\n", "t.toml:3:14: "
		    "[sandbox.os] command_fs: 'some' is not one of none | "
		    "system | permissive | all", "bad command_fs" },
		{ HDR "[security]\nredirects = \"yes\"\n", "t.toml:3:13: "
		    "[security] redirects: 'yes' is not one of none | merge | "
		    "files", "bad redirects" },
		{ HDR "[security]\nredirects = true\n", "t.toml:3:13: "
		    "[security] redirects must be a string, not boolean",
		    "redirects as a bool" },
		{ HDR "[capabilities.allow.commands]\ndefault_env_vars = "
		    "[\"A-B\"]\n", "t.toml:3:21: [capabilities.allow.commands] "
		    "default_env_vars: 'A-B' is not an environment variable "
		    "name", "a bad env var name" },
		{ HDR "[capabilities.allow.commands]\ndefault_env_vars = "
		    "[\"LANG\", \"Npm_Token\"]\n", "t.toml:3:29: "
		    "[capabilities.allow.commands] default_env_vars: "
		    "'Npm_Token'" CRED, "a credential in "
		    "default_env_vars (any case)" },
		{ HDR "[capabilities.allow.commands]\ndefault_env_vars = "
		    "[\"DB_PASSWORD_FILE\"]\n", "t.toml:3:21: [capabilities."
		    "allow.commands] default_env_vars: 'DB_PASSWORD_FILE'" CRED,
		    "PASSWORD anywhere in the name" },
		{ HDR "[capabilities.allow.commands]\ndefault_env_vars = "
		    "[\"AWS_SECRET_ACCESS_KEY\"]\n", "t.toml:3:21: "
		    "[capabilities.allow.commands] default_env_vars: "
		    "'AWS_SECRET_ACCESS_KEY'" CRED, "*_KEY" },
		{ HDR "[security\n", "t.toml:2:", "TOML syntax errors carry "
		    "the file name" },
	};
	size_t i;
	const char *got;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		got = fail(c[i].text);
		/* A short want, or one ending in a blank, is a prefix. */
		if (strncmp(c[i].want, got, strlen(c[i].want)) == 0 &&
		    (strlen(c[i].want) < 12 ||
		    c[i].want[strlen(c[i].want) - 1] == ' '))
			got = c[i].want;
		is_str(got, c[i].want, "error: %s", c[i].what);
	}
}

static void
test_patterns(void)
{
	const char *got;

	got = fail(HDR "[capabilities.allow.commands]\npatterns = "
	    "[\"ls\", \"rm $x:*\"]\n");
	ok(strncmp(got, "t.toml:3:19: [capabilities.allow.commands] "
	    "patterns: bad pattern 'rm $x:*': ", 66) == 0,
	    "a bad allow pattern: %s", got);
	got = fail(HDR "[capabilities.deny.commands]\npatterns = "
	    "[\"a:*:*\"]\n");
	ok(strncmp(got, "t.toml:3:13: [capabilities.deny.commands] "
	    "patterns: bad pattern 'a:*:*': ", 60) == 0,
	    "a bad deny pattern: %s", got);
	got = fail(HDR "[capabilities.allow.commands]\npatterns = [\"\"]\n");
	ok(strncmp(got, "t.toml:3:13: ", 13) == 0 && strstr(got,
	    "bad pattern ''") != NULL, "an empty pattern: %s", got);
	got = fail(HDR "[capabilities.allow.commands]\npatterns = "
	    "[{ command = \"gh:*\", domains = [\"api.github.com\", "
	    "\"ex ample.com\"] }]\n");
	ok(strncmp(got, "t.toml:3:62: [capabilities.allow.commands.patterns]"
	    " domains: bad domain 'ex ample.com': ", 88) == 0,
	    "a bad domain in a pattern: %s", got);
	got = fail(HDR "[capabilities.deny.commands]\ndomains = "
	    "[\"*.*.x\"]\n");
	ok(strncmp(got, "t.toml:3:12: [capabilities.deny.commands] domains:"
	    " bad domain '*.*.x': ", 71) == 0, "a bad deny domain: %s", got);
	got = fail(HDR "[capabilities.allow.commands]\ndefault_domains = "
	    "[\"h\\u00e9.com\"]\n");
	ok(strstr(got, "bad domain") != NULL, "a non-ASCII domain: %s", got);
	ok(*fail(HDR "[capabilities.allow.commands]\ndefault_domains = "
	    "[\"*.example.com\", \"example.com\"]\n") == '\0',
	    "good domains load");
}

static const char *
decide(const struct manifest *m, const char *cmd, const char **rule)
{
	static char d[16];
	struct cmdpat_rules r;
	struct cmdpat_result res;
	struct buf err;

	buf_init(&err, 0);
	manifest_cmdrules(m, &r);
	if (cmdpat_decide(&r, cmd, &res, &err) != 0)
		die("cmdpat_decide");
	snprintf(d, sizeof(d), "%s", cmdpat_name(res.decision));
	*rule = res.rule ? res.rule->text : "(none)";
	/* The rule text is owned by the manifest, so it outlives res. */
	cmdpat_result_clear(&res);
	buf_free(&err);
	return d;
}

static void
test_rules(void)
{
	struct manifest *m = NULL;
	const char *rule;

	if (load(example, &m) != 0)
		die("example");
	is_str(decide(m, "git status", &rule), "allow", "git status: allow");
	is_str(rule, "git status", "by the exact pattern");
	is_str(decide(m, "git log", &rule), "prompt", "git log: prompt");
	is_str(rule, "git:*", "by the prompt = true table");
	is_str(decide(m, "make test -j4", &rule), "allow", "make test: allow");
	is_str(decide(m, "git diff && curl http://x", &rule), "deny",
	    "a chain ending in curl: deny");
	is_str(rule, "curl:*", "by the deny pattern");
	is_str(decide(m, "sudo make test", &rule), "deny", "sudo: deny");
	is_str(decide(m, "ls", &rule), "prompt",
	    "unmatched prompts with allow_runtime_expansion");
	manifest_free(m);
	if (load(HDR "[security]\nallow_runtime_expansion = false\n",
	    &m) != 0)
		die("no expansion");
	is_str(decide(m, "ls", &rule), "deny",
	    "unmatched is denied without it");
	manifest_free(m);
}

static void
test_load(void)
{
	char dir[] = "/tmp/ward-manifest.XXXXXX", path[64];
	struct manifest *m = NULL;
	FILE *f;
	int rc;

	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	snprintf(path, sizeof(path), "%s/ward.toml", dir);
	buf_reset(&errb);
	rc = manifest_load(path, &m, &errb);
	is_int(rc, WARD_ENOENT, "a missing file is ENOENT");
	ok(m == NULL && errb.data != NULL && strstr(errb.data, path) != NULL,
	    "and names the file");
	if ((f = fopen(path, "w")) == NULL)
		die(path);
	fputs(example, f);
	fclose(f);
	buf_reset(&errb);
	is_int(manifest_load(path, &m, &errb), 0, "a file loads");
	ok(m != NULL && m->nallow == 5, "with its contents");
	manifest_free(m);
	if ((f = fopen(path, "w")) == NULL)
		die(path);
	fputs(HDR "[modle]\n", f);
	fclose(f);
	buf_reset(&errb);
	rc = manifest_load(path, &m, &errb);
	ok(rc == WARD_EINVAL && errb.data != NULL &&
	    strncmp(errb.data, path, strlen(path)) == 0 &&
	    strstr(errb.data, ":2:2: unknown key 'modle' in the top level; "
	    "did you mean 'model'?") != NULL, "a file's errors name it: %s",
	    errb.data ? errb.data : "");
	manifest_free(NULL);
	rm_tree(dir);
}

/* [secrets.NAME] hosts: read, and everything odd about it refused. */
static void
test_secrets(void)
{
	struct manifest *m = NULL;

	is_int(load(HDR "[secrets.GH_TOKEN]\nhosts = [\"api.github.com\", "
	    "\"*.githubusercontent.com\"]\n[secrets.NPM_TOKEN]\n", &m), 0,
	    "[secrets.NAME] hosts loads");
	ok(m != NULL && m->nsecrets == 2 &&
	    strcmp(m->secrets[0].name, "GH_TOKEN") == 0 &&
	    m->secrets[0].has_hosts && m->secrets[0].hosts.n == 2 &&
	    strcmp(m->secrets[0].hosts.v[1], "*.githubusercontent.com") == 0,
	    "names and hosts in order");
	ok(m != NULL && strcmp(m->secrets[1].name, "NPM_TOKEN") == 0 &&
	    !m->secrets[1].has_hosts && m->secrets[1].hosts.n == 0,
	    "a table without hosts limits nothing");
	manifest_free(m);
	m = NULL;
	is_int(load(HDR "[secrets.X]\nhosts = []\n", &m), 0, "hosts = []");
	ok(m != NULL && m->secrets[0].has_hosts && m->secrets[0].hosts.n == 0,
	    "... is kept apart from no hosts: it allows no host");
	manifest_free(m);
	is_str(fail(HDR "[secrets.X]\nhost = []\n"), "t.toml:3:1: unknown "
	    "key 'host' in [secrets.NAME]; did you mean 'hosts'?",
	    "an unknown key refused");
	is_str(fail(HDR "[secrets]\nX = 1\n"), "t.toml:3:5: [secrets] X "
	    "must be a table, not integer", "a non-table refused");
	is_str(fail(HDR "[secrets.\"A-B\"]\n"), "t.toml:2:10: [secrets]: "
	    "'A-B' is not a vault secret name ([A-Z_][A-Z0-9_]*, at most 64 "
	    "bytes)", "a bad name refused");
	is_str(fail(HDR "[secrets.gh_token]\n"), "t.toml:2:10: [secrets]: "
	    "'gh_token' is not a vault secret name ([A-Z_][A-Z0-9_]*, at "
	    "most 64 bytes)", "a lower-case name refused: the vault has "
	    "none");
	is_str(fail(HDR "[capabilities.allow.commands]\npatterns = [{ "
	    "command = \"gh:*\", secrets = [\"GH_TOKEN\", \"gh_token\"] }]\n"),
	    "t.toml:3:56: [capabilities.allow.commands.patterns] secrets: "
	    "'gh_token' is not a vault secret name ([A-Z_][A-Z0-9_]*, at most "
	    "64 bytes, as `ward secret set` takes)", "a grant naming a "
	    "lower-case secret refused at load, naming the key");
	ok(strstr(fail(HDR "[capabilities.allow.commands]\npatterns = [{ "
	    "command = \"gh:*\", secrets = [\"A234567890123456789012345678901"
	    "2345678901234567890123456789012345\"] }]\n"), "not a vault "
	    "secret name") != NULL, "a name over 64 bytes refused");
	ok(strstr(fail(HDR "[secrets.X]\nhosts = [\"exa mple\"]\n"),
	    "bad domain") != NULL, "a bad host refused");
	is_str(fail(HDR "secrets = 1\n"), "t.toml:2:11: the top level "
	    "secrets must be a table, not integer", "secrets must be a table");
}

int
main(void)
{
	buf_init(&errb, 0);
	test_example();
	test_defaults();
	test_unknown();
	test_types();
	test_patterns();
	test_rules();
	test_load();
	test_secrets();
	buf_free(&errb);
	return done_testing();
}
