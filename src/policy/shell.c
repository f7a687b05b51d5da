/*
 * The shell front end of the policy engine: bash command string -> every
 * simple command in it, each with its words after quote removal, its
 * assignments, redirects and context; then a look through wrapper programs.
 * See shell.h for the contract and the ways the tree-sitter tree is checked
 * against bash before anything in it is believed.
 *
 * Shape of the code: one explicit work stack of statement nodes (no
 * recursion on the input's shape); per-construct handlers that queue the
 * statements they contain; a byte-level word scanner that is the authority
 * on quoting; a list of covered byte spans that is swept at the end so that
 * nothing the tree skipped can hide a command.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tree_sitter/api.h>

#include "shell.h"
#include "../lib/buf.h"
#include "../lib/err.h"
#include "../lib/utf8.h"

const TSLanguage *tree_sitter_bash(void);

/* --- node kinds ----------------------------------------------------------- */

/* Every named node type this file understands; K_UNKNOWN is everything
 * else, and meeting it makes the result unparseable. */
enum kind {
	K_UNKNOWN = 0, K_ANON, K_ERROR,
	/* statements and their parts */
	K_PROGRAM, K_LIST, K_PIPELINE, K_SUBSHELL, K_COMPOUND, K_DO_GROUP,
	K_REDIRECTED, K_COMMAND, K_ASSIGN, K_ASSIGNS, K_DECL, K_UNSET, K_TEST,
	K_NEGATED, K_FUNCDEF, K_IF, K_ELIF, K_ELSE, K_WHILE, K_FOR, K_CFOR,
	K_CASE, K_CASE_ITEM, K_COMMENT,
	/* redirects */
	K_FILE_REDIR, K_HEREDOC_REDIR, K_HERESTRING_REDIR, K_HEREDOC_START,
	K_HEREDOC_BODY, K_HEREDOC_CONTENT, K_HEREDOC_END, K_FD,
	/* word parts */
	K_COMMAND_NAME, K_WORD, K_STRING, K_STRING_CONTENT, K_RAW_STRING,
	K_ANSI_C, K_CONCAT, K_TRANSLATED, K_BRACE, K_NUMBER,
	/* expansions */
	K_SIMPLE_EXP, K_EXPANSION, K_CMDSUB, K_PROCSUB, K_ARITH,
	/* inside expansions, arithmetic and tests */
	K_VARNAME, K_SPECIAL_VARNAME, K_SUBSCRIPT, K_ARRAY, K_REGEX,
	K_EXTGLOB, K_TEST_OP, K_BINARY, K_UNARY, K_TERNARY, K_POSTFIX,
	K_PAREN_EXPR,
};

static const struct {
	const char	*name;
	enum kind	 kind;
} shell_names[] = {
	{ "program", K_PROGRAM }, { "list", K_LIST },
	{ "pipeline", K_PIPELINE }, { "subshell", K_SUBSHELL },
	{ "compound_statement", K_COMPOUND }, { "do_group", K_DO_GROUP },
	{ "redirected_statement", K_REDIRECTED }, { "command", K_COMMAND },
	{ "variable_assignment", K_ASSIGN },
	{ "variable_assignments", K_ASSIGNS },
	{ "declaration_command", K_DECL }, { "unset_command", K_UNSET },
	{ "test_command", K_TEST }, { "negated_command", K_NEGATED },
	{ "function_definition", K_FUNCDEF }, { "if_statement", K_IF },
	{ "elif_clause", K_ELIF }, { "else_clause", K_ELSE },
	{ "while_statement", K_WHILE }, { "for_statement", K_FOR },
	{ "c_style_for_statement", K_CFOR }, { "case_statement", K_CASE },
	{ "case_item", K_CASE_ITEM }, { "comment", K_COMMENT },
	{ "file_redirect", K_FILE_REDIR },
	{ "heredoc_redirect", K_HEREDOC_REDIR },
	{ "herestring_redirect", K_HERESTRING_REDIR },
	{ "heredoc_start", K_HEREDOC_START },
	{ "heredoc_body", K_HEREDOC_BODY },
	{ "heredoc_content", K_HEREDOC_CONTENT },
	{ "heredoc_end", K_HEREDOC_END }, { "file_descriptor", K_FD },
	{ "command_name", K_COMMAND_NAME }, { "word", K_WORD },
	{ "string", K_STRING }, { "string_content", K_STRING_CONTENT },
	{ "raw_string", K_RAW_STRING }, { "ansi_c_string", K_ANSI_C },
	{ "concatenation", K_CONCAT }, { "translated_string", K_TRANSLATED },
	{ "brace_expression", K_BRACE }, { "number", K_NUMBER },
	{ "simple_expansion", K_SIMPLE_EXP }, { "expansion", K_EXPANSION },
	{ "command_substitution", K_CMDSUB },
	{ "process_substitution", K_PROCSUB },
	{ "arithmetic_expansion", K_ARITH }, { "variable_name", K_VARNAME },
	{ "special_variable_name", K_SPECIAL_VARNAME },
	{ "subscript", K_SUBSCRIPT }, { "array", K_ARRAY },
	{ "regex", K_REGEX }, { "extglob_pattern", K_EXTGLOB },
	{ "test_operator", K_TEST_OP }, { "binary_expression", K_BINARY },
	{ "unary_expression", K_UNARY }, { "ternary_expression", K_TERNARY },
	{ "postfix_expression", K_POSTFIX },
	{ "parenthesized_expression", K_PAREN_EXPR },
};

#define SHELL_NSYM	1024	/* the grammar has ~300 symbols and aliases */

static pthread_once_t	shell_once = PTHREAD_ONCE_INIT;
static int		shell_ready;
static unsigned char	shell_kind[SHELL_NSYM];
static uint32_t		shell_nsym;
static TSFieldId	F_ARGUMENT, F_BODY, F_DESTINATION, F_NAME, F_OPERATOR,
			F_REDIRECT, F_RIGHT, F_VALUE, F_INITIALIZER,
			F_CONDITION, F_UPDATE, F_DESCRIPTOR;

static TSFieldId
shell_field(const TSLanguage *lang, const char *name)
{
	return ts_language_field_id_for_name(lang, name,
	    (uint32_t)strlen(name));
}

/* Maps the grammar's symbols to kinds once per process: symbol ids are
 * compared on every node, names only here. */
static void
shell_init(void)
{
	const TSLanguage *lang = tree_sitter_bash();
	const char *name;
	uint32_t s;
	size_t i;

	if (lang == NULL ||
	    ts_language_version(lang) > TREE_SITTER_LANGUAGE_VERSION ||
	    ts_language_version(lang) <
	    TREE_SITTER_MIN_COMPATIBLE_LANGUAGE_VERSION)
		return;
	shell_nsym = ts_language_symbol_count(lang);
	if (shell_nsym > SHELL_NSYM)
		return;
	for (s = 0; s < shell_nsym; s++) {
		shell_kind[s] = K_UNKNOWN;
		switch (ts_language_symbol_type(lang, (TSSymbol)s)) {
		case TSSymbolTypeAnonymous:
			shell_kind[s] = K_ANON;
			break;
		case TSSymbolTypeRegular:
			name = ts_language_symbol_name(lang, (TSSymbol)s);
			for (i = 0; i < sizeof(shell_names) /
			    sizeof(shell_names[0]); i++)
				if (strcmp(name, shell_names[i].name) == 0)
					shell_kind[s] = shell_names[i].kind;
			break;
		default:
			break;
		}
	}
	F_ARGUMENT = shell_field(lang, "argument");
	F_BODY = shell_field(lang, "body");
	F_DESTINATION = shell_field(lang, "destination");
	F_NAME = shell_field(lang, "name");
	F_OPERATOR = shell_field(lang, "operator");
	F_REDIRECT = shell_field(lang, "redirect");
	F_RIGHT = shell_field(lang, "right");
	F_VALUE = shell_field(lang, "value");
	F_INITIALIZER = shell_field(lang, "initializer");
	F_CONDITION = shell_field(lang, "condition");
	F_UPDATE = shell_field(lang, "update");
	F_DESCRIPTOR = shell_field(lang, "descriptor");
	if (F_ARGUMENT && F_BODY && F_DESTINATION && F_NAME && F_OPERATOR &&
	    F_REDIRECT && F_RIGHT && F_VALUE && F_INITIALIZER && F_CONDITION &&
	    F_UPDATE && F_DESCRIPTOR)
		shell_ready = 1;
}

static enum kind
shell_kindof(TSNode n)
{
	TSSymbol s = ts_node_symbol(n);

	if (s == (TSSymbol)-1)
		return K_ERROR;
	if (s >= shell_nsym)
		return K_UNKNOWN;
	return (enum kind)shell_kind[s];
}

static int
shell_is_statement(enum kind k)
{
	switch (k) {
	case K_LIST: case K_PIPELINE: case K_SUBSHELL: case K_COMPOUND:
	case K_REDIRECTED: case K_COMMAND: case K_ASSIGN: case K_ASSIGNS:
	case K_DECL: case K_UNSET: case K_TEST: case K_NEGATED:
	case K_FUNCDEF: case K_IF: case K_WHILE: case K_FOR: case K_CFOR:
	case K_CASE:
		return 1;
	default:
		return 0;
	}
}

/* A node that stands for one word of the command line. */
static int
shell_is_wordlike(enum kind k)
{
	switch (k) {
	case K_WORD: case K_STRING: case K_RAW_STRING: case K_ANSI_C:
	case K_CONCAT: case K_TRANSLATED: case K_BRACE: case K_NUMBER:
	case K_SIMPLE_EXP: case K_EXPANSION: case K_CMDSUB: case K_PROCSUB:
	case K_ARITH:
		return 1;
	default:
		return 0;
	}
}

/* --- parse state ---------------------------------------------------------- */

/* A statement to visit, or (bt) a backquoted span of a here-doc to parse
 * again: tree-sitter-bash does not see backquotes in here-doc bodies. */
struct work {
	TSNode		 n;
	unsigned	 ctx;
	unsigned	 depth;
	int		 bt;
	size_t		 a, b;
};

struct kid {
	TSNode		 n;
	TSFieldId	 f;
};

struct span {
	size_t		 a, b;
};

/* An expansion inside a word, by position. */
struct special {
	TSNode		 n;
	size_t		 a, b;
	enum kind	 k;
};

/* A command being built; appended to the list when complete. */
struct cmdb {
	struct shell_cmd c;
	size_t		 capv, capa, capr;
	int		 grouped;	/* holds the redirects of a compound
					 * command: extra words are an error */
};

struct parse {
	const char		*src;
	size_t			 len;
	int			 level;		/* nesting of parses again */
	int			 ovr;		/* span override for commands */
	size_t			 ova, ovb;
	const char		*prefix;	/* starts reasons */
	struct shell_list	*l;
	struct buf		*err;
	TSTreeCursor		 cur;
	struct work		*stack;	size_t nstack, capstack;
	struct work		*pend;	size_t npend, cappend;
	struct kid		*kids;	size_t nkids, capkids;
	TSNode			*nodes;	size_t nnodes, capnodes;
	struct special		*spec;	size_t nspec, capspec;
	struct span		*holes;	size_t nholes, capholes;
	struct span		*cover;	size_t ncover, capcover;
	char			**funcs; size_t nfuncs, capfuncs;
};

static int	parse_text(const char *, size_t, int, unsigned, unsigned,
		    int, size_t, size_t, const char *, struct shell_list *,
		    struct buf *);

/* Makes room for need elements in *v; the pointer is replaced only on
 * success. */
static int
shell_grow(void *vp, size_t *cap, size_t need, size_t size)
{
	void **v = vp;
	void *p;
	size_t n;

	if (need <= *cap)
		return 0;
	n = *cap ? *cap : 16;
	while (n < need) {
		if (n > SIZE_MAX / 4)
			return WARD_ENOMEM;
		n *= 2;
	}
	if ((p = reallocarray(*v, n, size)) == NULL)
		return WARD_ENOMEM;
	*v = p;
	*cap = n;
	return 0;
}

/* Records why the input is not understood: the first reason only, since
 * later ones tend to be consequences. Returns 0 so handlers can return it
 * and carry on with what remains. */
static int __attribute__((format(printf, 3, 4)))
bad(struct parse *P, size_t at, const char *fmt, ...)
{
	va_list ap;
	char why[256];

	if (P->l->flags & SHELL_L_UNPARSEABLE)
		return 0;
	P->l->flags |= SHELL_L_UNPARSEABLE;
	if (P->err == NULL)
		return 0;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* A reason that cannot be stored is lost; the flag is what counts. */
	(void)buf_printf(P->err, "%sbyte %zu: %s", P->prefix, at, why);
	return 0;
}

static size_t
nstart(TSNode n)
{
	return ts_node_start_byte(n);
}

static size_t
nend(TSNode n)
{
	return ts_node_end_byte(n);
}

static int
cover(struct parse *P, size_t a, size_t b)
{
	int rc;

	if (a >= b)
		return 0;
	if ((rc = shell_grow(&P->cover, &P->capcover, P->ncover + 1,
	    sizeof(*P->cover))) != 0)
		return rc;
	P->cover[P->ncover].a = a;
	P->cover[P->ncover].b = b;
	P->ncover++;
	return 0;
}

static int
cover_node(struct parse *P, TSNode n)
{
	return cover(P, nstart(n), nend(n));
}

static int
hole(struct parse *P, TSNode n)
{
	int rc;

	if ((rc = shell_grow(&P->holes, &P->capholes, P->nholes + 1,
	    sizeof(*P->holes))) != 0)
		return rc;
	P->holes[P->nholes].a = nstart(n);
	P->holes[P->nholes].b = nend(n);
	P->nholes++;
	return 0;
}

static int
span_cmp(const void *x, const void *y)
{
	const struct span *a = x, *b = y;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->b < b->b ? -1 : a->b > b->b;
}

/* Covers [a, b) except the holes recorded since hb (substitutions, whose
 * own handlers cover what they understood), then forgets those holes. */
static int
cover_minus(struct parse *P, size_t a, size_t b, size_t hb)
{
	size_t i, cur = a;
	int rc = 0;

	if (P->nholes > hb + 1)
		qsort(P->holes + hb, P->nholes - hb, sizeof(*P->holes),
		    span_cmp);
	for (i = hb; i < P->nholes && rc == 0; i++) {
		if (P->holes[i].a > cur)
			rc = cover(P, cur, P->holes[i].a);
		if (P->holes[i].b > cur)
			cur = P->holes[i].b;
	}
	if (rc == 0 && cur < b)
		rc = cover(P, cur, b);
	P->nholes = hb;
	return rc;
}

static int
push_work(struct parse *P, TSNode n, unsigned ctx, unsigned depth)
{
	int rc;

	if ((rc = shell_grow(&P->stack, &P->capstack, P->nstack + 1,
	    sizeof(*P->stack))) != 0)
		return rc;
	memset(&P->stack[P->nstack], 0, sizeof(P->stack[0]));
	P->stack[P->nstack].n = n;
	P->stack[P->nstack].ctx = ctx;
	P->stack[P->nstack].depth = depth;
	P->nstack++;
	return 0;
}

static int
push_pend(struct parse *P, TSNode n, unsigned ctx, unsigned depth)
{
	int rc;

	if ((rc = shell_grow(&P->pend, &P->cappend, P->npend + 1,
	    sizeof(*P->pend))) != 0)
		return rc;
	memset(&P->pend[P->npend], 0, sizeof(P->pend[0]));
	P->pend[P->npend].n = n;
	P->pend[P->npend].ctx = ctx;
	P->pend[P->npend].depth = depth;
	P->npend++;
	return 0;
}

/* Moves the statements queued since base onto the work stack. Everything
 * one visit pushes is pushed in source order and reversed afterwards (see
 * parse_text), so that it is also visited in source order. */
static int
flush_pend(struct parse *P, size_t base)
{
	size_t i;
	int rc;

	if ((rc = shell_grow(&P->stack, &P->capstack,
	    P->nstack + (P->npend - base), sizeof(*P->stack))) != 0)
		return rc;
	for (i = base; i < P->npend; i++)
		P->stack[P->nstack++] = P->pend[i];
	P->npend = base;
	return 0;
}

/* Appends the children of n to P->kids (the caller truncates back to the
 * returned base when done; the vector is used as a stack). A cursor walks
 * them: ts_node_child(n, i) is linear in i. */
static int
kids(struct parse *P, TSNode n, size_t *base, size_t *count)
{
	int rc;

	*base = P->nkids;
	*count = 0;
	ts_tree_cursor_reset(&P->cur, n);
	if (!ts_tree_cursor_goto_first_child(&P->cur))
		return 0;
	do {
		if ((rc = shell_grow(&P->kids, &P->capkids, P->nkids + 1,
		    sizeof(*P->kids))) != 0)
			return rc;
		P->kids[P->nkids].n = ts_tree_cursor_current_node(&P->cur);
		P->kids[P->nkids].f = ts_tree_cursor_current_field_id(&P->cur);
		P->nkids++;
		(*count)++;
	} while (ts_tree_cursor_goto_next_sibling(&P->cur));
	return 0;
}

static int
push_node(struct parse *P, TSNode n)
{
	int rc;

	if ((rc = shell_grow(&P->nodes, &P->capnodes, P->nnodes + 1,
	    sizeof(*P->nodes))) != 0)
		return rc;
	P->nodes[P->nnodes++] = n;
	return 0;
}

/* Pushes the children of n onto P->nodes last first, so that popping
 * visits them in source order. */
static int
push_children(struct parse *P, TSNode n)
{
	size_t kb, kn, i;
	int rc;

	if ((rc = kids(P, n, &kb, &kn)) != 0)
		return rc;
	for (i = kn; i > 0 && rc == 0; i--)
		rc = push_node(P, P->kids[kb + i - 1].n);
	P->nkids = kb;
	return rc;
}

static int
tok_is(struct parse *P, TSNode n, const char *s)
{
	size_t a = nstart(n), b = nend(n), l = strlen(s);

	return b - a == l && memcmp(P->src + a, s, l) == 0;
}

static int
is_one_of(struct parse *P, TSNode n, const char *const *set)
{
	for (; *set != NULL; set++)
		if (tok_is(P, n, *set))
			return 1;
	return 0;
}

/* --- words ---------------------------------------------------------------- */

static void
word_free(struct shell_word *w)
{
	if (w == NULL)
		return;
	free(w->text);
	w->text = NULL;
	w->len = 0;
}

static int
word_set(struct shell_word *w, const char *s, size_t n, unsigned flags)
{
	if ((w->text = malloc(n + 1)) == NULL)
		return WARD_ENOMEM;
	memcpy(w->text, s, n);
	w->text[n] = '\0';
	w->len = n;
	w->flags = flags;
	return 0;
}

static int
word_take(struct shell_word *w, struct buf *b, unsigned flags)
{
	size_t n = b->len;

	if ((w->text = buf_take(b)) == NULL)
		return WARD_ENOMEM;
	w->len = n;
	w->flags = flags;
	return 0;
}

static int
word_copy(struct shell_word *dst, const struct shell_word *src)
{
	return word_set(dst, src->text, src->len, src->flags);
}

/* Scan modes. */
#define WS_WORD		0	/* an argument */
#define WS_LITERAL	1	/* a here-doc delimiter: quote removal only */
#define WS_HEREDOC	2	/* an unquoted here-doc body */

/* Quote states. */
#define Q_NONE		0
#define Q_SINGLE	1
#define Q_DOUBLE	2
#define Q_ANSI		3
#define Q_HEREDOC	4

/* Characters that make bash expand what follows a $. */
static int
dollar_trigger(int c)
{
	return isalnum(c) || c == '_' || c == '{' || c == '(' || c == '[' ||
	    c == '@' || c == '*' || c == '#' || c == '?' || c == '$' ||
	    c == '!' || c == '-';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes one backslash escape of a $'...' string at s[*i] (the backslash)
 * as bash 5 does. *nul is set when it yields NUL: bash ends the string's
 * value there. Returns 0, a buf error, or 1 for an escape not handled.
 */
static int
ansi_escape(const char *s, size_t b, size_t *i, struct buf *o, int *nul)
{
	size_t j = *i + 1, n;
	uint32_t v;
	int c, d;
	char ch;

	if (j >= b)
		return 1;
	c = (unsigned char)s[j];
	switch (c) {
	case 'a': ch = 7; break;
	case 'b': ch = 8; break;
	case 'e': case 'E': ch = 27; break;
	case 'f': ch = 12; break;
	case 'n': ch = 10; break;
	case 'r': ch = 13; break;
	case 't': ch = 9; break;
	case 'v': ch = 11; break;
	case '\\': case '\'': case '"': case '?': ch = (char)c; break;
	case '0': case '1': case '2': case '3':
	case '4': case '5': case '6': case '7':
		for (v = 0, n = 0; n < 3 && j < b && s[j] >= '0' && s[j] <= '7';
		    n++, j++)
			v = v * 8 + (uint32_t)(s[j] - '0');
		*i = j;
		if ((v & 0xff) == 0) {
			*nul = 1;
			return 0;
		}
		ch = (char)(v & 0xff);
		return buf_add(o, &ch, 1);
	case 'x': case 'u': case 'U':
		j++;
		for (v = 0, n = 0; n < (c == 'x' ? 2u : c == 'u' ? 4u : 8u) &&
		    j < b && (d = hexval((unsigned char)s[j])) >= 0; n++, j++)
			v = v * 16 + (uint32_t)d;
		if (n == 0) {
			/* No digits: bash keeps the escape as written. */
			*i = j;
			return buf_add(o, s + j - 2, 2);
		}
		*i = j;
		if (v == 0) {
			*nul = 1;
			return 0;
		}
		if (c == 'x') {
			ch = (char)v;
			return buf_add(o, &ch, 1);
		}
		/* Past Unicode, or a surrogate: what bash prints depends on
		 * the locale. */
		if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			return 1;
		return utf8_put(o, v);
	case 'c':
		if (j + 1 >= b || s[j + 1] == '\\' || s[j + 1] == '\'')
			return 1;
		d = (unsigned char)s[j + 1];
		ch = d == '?' ? 0x7f : (char)(toupper(d) & 0x1f);
		*i = j + 2;
		if (ch == 0) {
			*nul = 1;
			return 0;
		}
		return buf_add(o, &ch, 1);
	default:
		/* Unknown escapes stay as written. */
		*i = j + 1;
		return buf_add(o, s + j - 1, 2);
	}
	*i = j + 1;
	return buf_add(o, &ch, 1);
}

static int	opaque(struct parse *, TSNode, unsigned, unsigned, int);
static int	push_backquote(struct parse *, size_t, size_t, unsigned,
		    unsigned);

/* Handles one expansion met by the scanner: substitutions are queued as
 * statements (their span becomes a hole in the word's coverage); ${ } and
 * $(( )) are searched for substitutions inside them. */
static int
special(struct parse *P, const struct special *sp, unsigned ctx,
    unsigned depth, unsigned *flags)
{
	int rc;

	switch (sp->k) {
	case K_SIMPLE_EXP:
	case K_EXPANSION:
		*flags |= SHELL_W_VAR;
		return opaque(P, sp->n, ctx, depth, 1);
	case K_ARITH:
		*flags |= SHELL_W_ARITH;
		return opaque(P, sp->n, ctx, depth, 1);
	case K_CMDSUB:
		*flags |= SHELL_W_CMDSUB;
		break;
	case K_PROCSUB:
		*flags |= SHELL_W_PROCSUB;
		break;
	default:
		return bad(P, sp->a, "unexpected expansion");
	}
	if ((rc = hole(P, sp->n)) != 0)
		return rc;
	return push_work(P, sp->n, ctx, depth);
}

/* The first bytes an expansion of kind k must have in the source. */
static int
special_starts_ok(struct parse *P, const struct special *sp, int q)
{
	const char *s = P->src + sp->a;
	size_t n = sp->b - sp->a;

	switch (sp->k) {
	case K_SIMPLE_EXP:
		return n >= 2 && s[0] == '$';
	case K_EXPANSION:
		return n >= 3 && s[0] == '$' && s[1] == '{';
	case K_ARITH:
		return n >= 3 && s[0] == '$' && (s[1] == '[' || s[1] == '(');
	case K_CMDSUB:
		return n >= 2 && (s[0] == '`' || (s[0] == '$' &&
		    (s[1] == '(' || s[1] == '`')));
	case K_PROCSUB:
		return q == Q_NONE && n >= 3 && (s[0] == '<' || s[0] == '>') &&
		    s[1] == '(';
	default:
		return 0;
	}
}

/*
 * The authority on quoting: lexes src[a, b) as bash lexes one word (or a
 * here-doc body, or a delimiter), appending the word after quote removal to
 * o. Expansions must be exactly the ones in P->spec[sb, se) (sorted), found
 * by the tree; any disagreement about where quoting starts or ends, or an
 * expansion that one side sees and the other does not, is unparseable.
 */
static int
scan(struct parse *P, size_t a, size_t b, int mode, size_t sb, size_t se,
    unsigned ctx, unsigned depth, struct buf *o, unsigned *flags)
{
	const char *s = P->src;
	size_t i = a, k = sb, j;
	int q = mode == WS_HEREDOC ? Q_HEREDOC : Q_NONE;
	int braces = 0, brace_sep = 0, nul = 0, rc = 0;
	char c, last = 0;

	while (i < b && rc == 0) {
		if (k < se && P->spec[k].a < i)
			return bad(P, P->spec[k].a,
			    "the parser and bash disagree about an expansion");
		if (k < se && P->spec[k].a == i) {
			if (q == Q_SINGLE || q == Q_ANSI ||
			    mode == WS_LITERAL ||
			    !special_starts_ok(P, &P->spec[k], q))
				return bad(P, i, "the parser sees an expansion "
				    "bash does not");
			rc = buf_add(o, s + i, P->spec[k].b - i);
			if (rc == 0)
				rc = special(P, &P->spec[k], ctx, depth, flags);
			i = P->spec[k].b;
			k++;
			last = 0;
			continue;
		}
		c = s[i];
		switch (q) {
		case Q_SINGLE:
			if (c == '\'')
				q = Q_NONE;
			else
				rc = buf_add(o, &c, 1);
			i++;
			break;
		case Q_ANSI:
			if (c == '\'') {
				q = Q_NONE;
				nul = 0;
				i++;
			} else if (c == '\\') {
				if (nul) {
					/* bash drops the rest after a NUL, but
					 * still needs the escape to find the
					 * end quote. */
					i += 2;
					break;
				}
				rc = ansi_escape(s, b, &i, o, &nul);
				if (rc == 1)
					return bad(P, i, "unsupported escape "
					    "in $'...'");
			} else {
				if (!nul)
					rc = buf_add(o, &c, 1);
				i++;
			}
			break;
		case Q_DOUBLE:
		case Q_HEREDOC:
			if (c == '"' && q == Q_DOUBLE) {
				q = Q_NONE;
				i++;
			} else if (c == '\\') {
				if (i + 1 < b && (s[i + 1] == '$' ||
				    s[i + 1] == '`' || s[i + 1] == '\\' ||
				    (s[i + 1] == '"' && q == Q_DOUBLE))) {
					rc = buf_add(o, s + i + 1, 1);
					i += 2;
				} else if (i + 1 < b && s[i + 1] == '\n') {
					i += 2;
				} else {
					rc = buf_add(o, &c, 1);
					i++;
				}
			} else if (c == '$') {
				if (i + 1 < b && dollar_trigger(
				    (unsigned char)s[i + 1]))
					return bad(P, i, "an expansion the "
					    "parser did not see");
				rc = buf_add(o, &c, 1);
				i++;
			} else if (c == '`') {
				if (q == Q_DOUBLE)
					return bad(P, i, "a backquote the "
					    "parser did not see");
				/* tree-sitter-bash leaves here-doc
				 * backquotes as text: find the end as bash
				 * does and parse the inside again. */
				for (j = i + 1; j < b && s[j] != '`' &&
				    s[j] != '\\'; j++)
					;
				if (j >= b || s[j] != '`')
					return bad(P, i, "backquotes with "
					    "backslashes or no end");
				*flags |= SHELL_W_CMDSUB;
				rc = buf_add(o, s + i, j + 1 - i);
				if (rc == 0)
					rc = push_backquote(P, i, j + 1, ctx,
					    depth);
				i = j + 1;
			} else {
				rc = buf_add(o, &c, 1);
				i++;
			}
			break;
		default:	/* Q_NONE */
			if (c == '\\') {
				if (i + 1 >= b)
					return bad(P, i, "a backslash at the "
					    "end of a word");
				if (s[i + 1] != '\n')
					rc = buf_add(o, s + i + 1, 1);
				i += 2;
				last = 0;
				break;
			}
			if (c == '\'') {
				q = Q_SINGLE;
				i++;
				last = 0;
				break;
			}
			if (c == '"') {
				q = Q_DOUBLE;
				i++;
				last = 0;
				break;
			}
			if (c == '$' && mode != WS_LITERAL && i + 1 < b) {
				if (s[i + 1] == '\'' || s[i + 1] == '"') {
					q = s[i + 1] == '\'' ? Q_ANSI :
					    Q_DOUBLE;
					i += 2;
					last = 0;
					break;
				}
				if (dollar_trigger((unsigned char)s[i + 1]))
					return bad(P, i, "an expansion the "
					    "parser did not see");
			}
			if (c == '$' && mode == WS_LITERAL && i + 1 < b &&
			    (s[i + 1] == '\'' || s[i + 1] == '"'))
				return bad(P, i, "unsupported here-doc "
				    "delimiter");
			if (c == '`')
				return bad(P, i, "a backquote the parser "
				    "did not see");
			if (strchr(" \t\n;&|<>()", c) != NULL)
				return bad(P, i, "the parser and bash "
				    "disagree about where a word ends");
			if (mode != WS_LITERAL) {
				if (c == '*' || c == '?' || c == '[')
					*flags |= SHELL_W_GLOB;
				else if (c == '~' && (i == a || last == '=' ||
				    last == ':'))
					*flags |= SHELL_W_TILDE;
				else if (c == '{')
					braces++;
				else if (braces > 0 && (c == ',' ||
				    (c == '.' && i + 1 < b &&
				    s[i + 1] == '.')))
					brace_sep = 1;
				else if (c == '}' && braces > 0) {
					braces--;
					if (brace_sep)
						*flags |= SHELL_W_BRACE;
				}
			}
			last = c;
			rc = buf_add(o, &c, 1);
			i++;
			break;
		}
	}
	if (rc != 0)
		return rc;
	if (q != (mode == WS_HEREDOC ? Q_HEREDOC : Q_NONE))
		return bad(P, b, "the parser and bash disagree about where a "
		    "quote ends");
	if (k != se)
		return bad(P, P->spec[k].a, "the parser sees an expansion bash "
		    "does not");
	return 0;
}

static int
add_special(struct parse *P, TSNode n, enum kind k)
{
	int rc;

	if ((rc = shell_grow(&P->spec, &P->capspec, P->nspec + 1,
	    sizeof(*P->spec))) != 0)
		return rc;
	P->spec[P->nspec].n = n;
	P->spec[P->nspec].a = nstart(n);
	P->spec[P->nspec].b = nend(n);
	P->spec[P->nspec].k = k;
	P->nspec++;
	return 0;
}

/* Collects the expansions at the top of a word-like node, in order, and
 * rejects anything a word cannot contain. */
static int
collect_specials(struct parse *P, TSNode n)
{
	size_t nb = P->nnodes;
	enum kind k;
	int rc;

	if ((rc = push_node(P, n)) != 0)
		return rc;
	while (P->nnodes > nb && rc == 0) {
		n = P->nodes[--P->nnodes];
		if (ts_node_is_missing(n)) {
			rc = bad(P, nstart(n), "incomplete input");
			break;
		}
		switch ((k = shell_kindof(n))) {
		case K_SIMPLE_EXP: case K_EXPANSION: case K_ARITH:
		case K_CMDSUB: case K_PROCSUB:
			rc = add_special(P, n, k);
			break;
		case K_WORD: case K_STRING: case K_STRING_CONTENT:
		case K_RAW_STRING: case K_ANSI_C: case K_CONCAT:
		case K_TRANSLATED: case K_BRACE: case K_NUMBER:
		case K_COMMAND_NAME: case K_ANON:
			rc = push_children(P, n);
			break;
		default:
			rc = bad(P, nstart(n), "unexpected '%s' in a word",
			    ts_node_type(n));
			break;
		}
	}
	P->nnodes = nb;
	return rc;
}

/* Turns the word-like node n into a word: quote removal, escapes, flags.
 * Substitutions inside are queued with ctx/depth. */
static int
word_scan(struct parse *P, TSNode n, int mode, unsigned ctx, unsigned depth,
    struct shell_word *w)
{
	size_t sb = P->nspec, hb = P->nholes;
	unsigned flags = 0;
	struct buf o;
	int rc;

	buf_init(&o, 0);
	w->text = NULL;
	if ((rc = collect_specials(P, n)) == 0)
		rc = scan(P, nstart(n), nend(n), mode, sb, P->nspec, ctx,
		    depth, &o, &flags);
	if (rc == 0)
		rc = cover_minus(P, nstart(n), nend(n), hb);
	if (rc == 0)
		rc = word_take(w, &o, flags);
	P->nspec = sb;
	P->nholes = hb;
	buf_free(&o);
	return rc;
}

/*
 * For parts whose text is not a word -- ${ } and $(( )) insides, arithmetic
 * commands, c-style for headers, regexes, subscripts, case patterns: queues
 * every substitution inside, rejects statements and errors, and (check)
 * refuses a $( or ` that is not inside a substitution the tree found.
 * Coverage is the node minus the substitutions, unless the caller (a word)
 * covers it.
 */
static int
opaque(struct parse *P, TSNode top, unsigned ctx, unsigned depth, int check)
{
	size_t nb = P->nnodes, hb = P->nholes, i, h, a, b;
	enum kind k;
	TSNode n;
	int rc;

	/* The top node is the caller's to judge (it may be the (( ))
	 * test_command itself); what is inside is judged here. */
	if ((rc = push_children(P, top)) != 0)
		return rc;
	while (P->nnodes > nb && rc == 0) {
		n = P->nodes[--P->nnodes];
		k = shell_kindof(n);
		if (ts_node_is_missing(n) || k == K_ERROR) {
			rc = bad(P, nstart(n), "syntax error");
			break;
		}
		if (k == K_CMDSUB || k == K_PROCSUB) {
			if ((rc = hole(P, n)) == 0)
				rc = push_work(P, n, ctx, depth);
			continue;
		}
		if (k == K_UNKNOWN || (shell_is_statement(k) &&
		    k != K_ASSIGN) || k == K_COMMENT ||
		    (k >= K_FILE_REDIR && k <= K_FD)) {
			rc = bad(P, nstart(n), "unexpected '%s'",
			    ts_node_type(n));
			break;
		}
		rc = push_children(P, n);
	}
	P->nnodes = nb;
	if (rc != 0 || !check)
		return rc;
	/* Holes are not sorted yet; test each byte against them. Only
	 * suspicious bytes need the test, so this stays linear in practice. */
	a = nstart(top);
	b = nend(top);
	for (i = a; i < b; i++) {
		if (P->src[i] != '`' && !(P->src[i] == '$' && i + 1 < b &&
		    P->src[i + 1] == '(' && !(i + 2 < b &&
		    P->src[i + 2] == '(')))
			continue;
		for (h = hb; h < P->nholes; h++)
			if (i >= P->holes[h].a && i < P->holes[h].b)
				break;
		if (h == P->nholes)
			return bad(P, i, "a substitution the parser did not "
			    "see");
	}
	return 0;
}

/* opaque() for a part that nothing else covers. */
static int
opaque_cover(struct parse *P, TSNode n, unsigned ctx, unsigned depth)
{
	size_t hb = P->nholes;
	int rc;

	if ((rc = opaque(P, n, ctx, depth, 1)) != 0)
		return rc;
	return cover_minus(P, nstart(n), nend(n), hb);
}

/* Queues a here-doc backquote span [a, b) (backquotes included). */
static int
push_backquote(struct parse *P, size_t a, size_t b, unsigned ctx,
    unsigned depth)
{
	int rc;

	if ((rc = shell_grow(&P->stack, &P->capstack, P->nstack + 1,
	    sizeof(*P->stack))) != 0)
		return rc;
	memset(&P->stack[P->nstack], 0, sizeof(P->stack[0]));
	P->stack[P->nstack].bt = 1;
	P->stack[P->nstack].a = a;
	P->stack[P->nstack].b = b;
	P->stack[P->nstack].ctx = ctx;
	P->stack[P->nstack].depth = depth;
	P->nstack++;
	return 0;
}

/* --- commands ------------------------------------------------------------- */

static void
cmd_free(struct shell_cmd *c)
{
	size_t i;

	for (i = 0; i < c->argc; i++)
		word_free(&c->argv[i]);
	for (i = 0; i < c->nassigns; i++)
		word_free(&c->assigns[i]);
	for (i = 0; i < c->nredirs; i++)
		word_free(&c->redirs[i].target);
	free(c->argv);
	free(c->assigns);
	free(c->redirs);
	memset(c, 0, sizeof(*c));
}

static void
cb_init(struct parse *P, struct cmdb *cb, const struct work *w, TSNode n)
{
	memset(cb, 0, sizeof(*cb));
	cb->c.ctx = w->ctx;
	cb->c.depth = w->depth;
	cb->c.parent = SHELL_NOPARENT;
	if (P->ovr) {
		cb->c.start = P->ova;
		cb->c.end = P->ovb;
	} else {
		cb->c.start = nstart(n);
		cb->c.end = nend(n);
	}
}

/* Takes ownership of *w (also on failure). */
static int
cb_arg(struct cmdb *cb, struct shell_word *w)
{
	int rc;

	if ((rc = shell_grow(&cb->c.argv, &cb->capv, cb->c.argc + 1,
	    sizeof(*cb->c.argv))) != 0) {
		word_free(w);
		return rc;
	}
	cb->c.argv[cb->c.argc++] = *w;
	return 0;
}

static int
cb_assign(struct cmdb *cb, struct shell_word *w)
{
	int rc;

	if ((rc = shell_grow(&cb->c.assigns, &cb->capa, cb->c.nassigns + 1,
	    sizeof(*cb->c.assigns))) != 0) {
		word_free(w);
		return rc;
	}
	cb->c.assigns[cb->c.nassigns++] = *w;
	return 0;
}

static int
cb_redir(struct cmdb *cb, struct shell_redir *r)
{
	int rc;

	if ((rc = shell_grow(&cb->c.redirs, &cb->capr, cb->c.nredirs + 1,
	    sizeof(*cb->c.redirs))) != 0) {
		word_free(&r->target);
		return rc;
	}
	cb->c.redirs[cb->c.nredirs++] = *r;
	return 0;
}

static int
cb_lit(struct cmdb *cb, const char *s, size_t n, unsigned flags)
{
	struct shell_word w;
	int rc;

	if ((rc = word_set(&w, s, n, flags)) != 0)
		return rc;
	return cb_arg(cb, &w);
}

static int
list_add(struct shell_list *l, struct shell_cmd *c)
{
	int rc;

	if ((rc = shell_grow(&l->cmds, &l->capcmds, l->ncmds + 1,
	    sizeof(*l->cmds))) != 0)
		return rc;
	l->cmds[l->ncmds++] = *c;
	memset(c, 0, sizeof(*c));
	return 0;
}

/* Appends the command (even a partial one: more for deny to see); frees it
 * on failure. */
static int
cb_finish(struct parse *P, struct cmdb *cb)
{
	int rc;

	if ((rc = list_add(P->l, &cb->c)) != 0)
		cmd_free(&cb->c);
	return rc;
}

/* Words of one simple command must be separated by a blank; tree-sitter
 * sometimes splits one bash word in two ($"x", a\<newline>b). */
static int
adjacent(struct parse *P, size_t *last, TSNode n)
{
	int joined = *last != (size_t)-1 && nstart(n) == *last;

	*last = nend(n);
	if (joined)
		bad(P, nstart(n), "the parser and bash disagree about where "
		    "a word ends");
	return joined;
}

/* An argument-position node: word-like, a bare $, == or =~, or a regex. */
static int
arg_node(struct parse *P, struct cmdb *cb, const struct work *w, TSNode n)
{
	struct shell_word wd;
	enum kind k = shell_kindof(n);
	int rc;

	if (shell_is_wordlike(k)) {
		if ((rc = word_scan(P, n, WS_WORD, w->ctx, w->depth, &wd)) != 0)
			return rc;
		return cb_arg(cb, &wd);
	}
	if (k == K_ANON && (tok_is(P, n, "$") || tok_is(P, n, "==") ||
	    tok_is(P, n, "=~"))) {
		if ((rc = cover_node(P, n)) != 0)
			return rc;
		return cb_lit(cb, P->src + nstart(n), nend(n) - nstart(n), 0);
	}
	if (k == K_REGEX) {
		if ((rc = opaque_cover(P, n, w->ctx, w->depth)) != 0)
			return rc;
		return cb_lit(cb, P->src + nstart(n), nend(n) - nstart(n), 0);
	}
	return bad(P, nstart(n), "unexpected '%s' as an argument",
	    ts_node_type(n));
}

/* NAME=value, NAME+=value, NAME[i]=value, NAME=(a b c), as one word. */
static int
assign_word(struct parse *P, TSNode n, const struct work *w,
    struct shell_word *out)
{
	size_t kb, kn, i, last = (size_t)-1, eb, en, j;
	struct shell_word v;
	struct buf o;
	unsigned flags = 0;
	enum kind k;
	TSNode c;
	int rc;

	buf_init(&o, 0);
	out->text = NULL;
	if ((rc = kids(P, n, &kb, &kn)) != 0)
		goto out;
	for (i = 0; i < kn && rc == 0; i++) {
		c = P->kids[kb + i].n;
		k = shell_kindof(c);
		if (P->kids[kb + i].f == F_NAME) {
			if (k == K_SUBSCRIPT) {
				rc = opaque_cover(P, c, w->ctx, w->depth);
				flags |= SHELL_W_VAR;
			} else if (k == K_VARNAME)
				rc = cover_node(P, c);
			else {
				rc = bad(P, nstart(c), "unexpected '%s'",
				    ts_node_type(c));
				break;
			}
			if (rc == 0)
				rc = buf_add(&o, P->src + nstart(c),
				    nend(c) - nstart(c));
		} else if (k == K_ANON && (tok_is(P, c, "=") ||
		    tok_is(P, c, "+="))) {
			if ((rc = cover_node(P, c)) == 0)
				rc = buf_add(&o, P->src + nstart(c),
				    nend(c) - nstart(c));
		} else if (k == K_ARRAY) {
			/* a=(x y z): each element is a word. */
			size_t an = 0;

			if ((rc = buf_puts(&o, "(")) != 0)
				break;
			if ((rc = kids(P, c, &eb, &en)) != 0)
				break;
			for (j = 0; j < en && rc == 0; j++) {
				TSNode e = P->kids[eb + j].n;
				enum kind ek = shell_kindof(e);

				if (ek == K_ANON && (tok_is(P, e, "(") ||
				    tok_is(P, e, ")"))) {
					rc = cover_node(P, e);
					continue;
				}
				if (!shell_is_wordlike(ek)) {
					rc = bad(P, nstart(e), "unexpected "
					    "'%s' in an array",
					    ts_node_type(e));
					break;
				}
				if (adjacent(P, &last, e))
					break;
				if ((rc = word_scan(P, e, WS_WORD, w->ctx,
				    w->depth, &v)) != 0)
					break;
				if (an++ > 0)
					rc = buf_puts(&o, " ");
				if (rc == 0)
					rc = buf_add(&o, v.text, v.len);
				flags |= v.flags;
				word_free(&v);
			}
			P->nkids = eb;
			if (rc == 0)
				rc = buf_puts(&o, ")");
		} else if (P->kids[kb + i].f == F_VALUE &&
		    shell_is_wordlike(k)) {
			if ((rc = word_scan(P, c, WS_WORD, w->ctx, w->depth,
			    &v)) != 0)
				break;
			/* bash expands ~ at the start of a value too. */
			if (v.len > 0 && v.text[0] == '~' &&
			    P->src[nstart(c)] == '~')
				v.flags |= SHELL_W_TILDE;
			flags |= v.flags;
			rc = buf_add(&o, v.text, v.len);
			word_free(&v);
		} else {
			rc = bad(P, nstart(c), "unexpected '%s' in an "
			    "assignment", ts_node_type(c));
			break;
		}
	}
	P->nkids = kb;
	if (rc == 0)
		rc = word_take(out, &o, flags);
out:
	buf_free(&o);
	return rc;
}

static int	redirect(struct parse *, struct cmdb *, const struct work *,
		    TSNode, size_t *);

/* The `(( expr ))` arithmetic command: one opaque expression. */
static int
arith_command(struct parse *P, struct cmdb *cb, const struct work *w,
    TSNode n)
{
	size_t a = nstart(n), b = nend(n);
	int rc;

	if (b - a < 4 || P->src[a + 1] != '(' || P->src[b - 1] != ')' ||
	    P->src[b - 2] != ')')
		return bad(P, a, "unsupported arithmetic command");
	cb->c.flags |= SHELL_C_TEST;
	if ((rc = opaque_cover(P, n, w->ctx, w->depth)) != 0)
		return rc;
	if ((rc = cb_lit(cb, "((", 2, 0)) != 0)
		return rc;
	if ((rc = cb_lit(cb, P->src + a + 2, b - a - 4, SHELL_W_ARITH)) != 0)
		return rc;
	return cb_lit(cb, "))", 2, 0);
}

/* Bash's reserved words; as a program name they mean tree-sitter read a
 * construct it does not know (coproc { ...; }, a stray fi). */
static const char *const shell_reserved[] = {
	"if", "then", "else", "elif", "fi", "case", "esac", "for", "select",
	"while", "until", "do", "done", "in", "function", "{", "}", "!",
	"[[", "]]", "coproc", NULL
};

/* tree-sitter-bash drops a lone - right before << (python3 - <<EOF, a
 * common way to feed a program a script): put it back where bash has it,
 * the last argument before the here-doc. Anything else in that gap is left
 * for the coverage sweep to refuse. */
static int
lost_dash(struct parse *P, struct cmdb *cb, size_t a, size_t b)
{
	size_t i = b;
	int rc;

	while (i > a && (P->src[i - 1] == ' ' || P->src[i - 1] == '\t'))
		i--;
	if (i == b || i - 1 <= a || P->src[i - 1] != '-' ||
	    (P->src[i - 2] != ' ' && P->src[i - 2] != '\t'))
		return 0;
	if ((rc = cover(P, i - 1, i)) != 0)
		return rc;
	return cb_lit(cb, "-", 1, 0);
}

/* A simple command: assignments, name, arguments, redirects; plus the
 * redirects rb[0, rn) of an enclosing redirected_statement. */
static int
command(struct parse *P, const struct work *w, TSNode n, TSNode outer,
    size_t rb, size_t rn)
{
	struct cmdb cb;
	struct shell_word wd;
	size_t kb, kn, i, last = (size_t)-1, nb, nn;
	enum kind k;
	TSNode c;
	int rc = 0, arith = 0;

	cb_init(P, &cb, w, outer);
	if ((rc = kids(P, n, &kb, &kn)) != 0)
		goto out;
	for (i = 0; i < kn && rc == 0; i++) {
		c = P->kids[kb + i].n;
		k = shell_kindof(c);
		if (ts_node_is_missing(c) || k == K_ERROR) {
			rc = bad(P, nstart(c), "syntax error");
			break;
		}
		if (arith) {
			rc = bad(P, nstart(c), "words after (( ))");
			break;
		}
		if (k == K_ASSIGN) {
			if (adjacent(P, &last, c))
				break;
			if ((rc = assign_word(P, c, w, &wd)) == 0)
				rc = cb_assign(&cb, &wd);
		} else if (k == K_FILE_REDIR || k == K_HERESTRING_REDIR ||
		    k == K_HEREDOC_REDIR) {
			last = (size_t)-1;
			rc = redirect(P, &cb, w, c, &last);
			last = (size_t)-1;
		} else if (k == K_COMMAND_NAME) {
			if (adjacent(P, &last, c))
				break;
			if ((rc = kids(P, c, &nb, &nn)) != 0)
				break;
			if (nn == 1 && shell_kindof(P->kids[nb].n) == K_ARITH &&
			    P->src[nstart(c)] == '(') {
				arith = 1;
				rc = arith_command(P, &cb, w, P->kids[nb].n);
				P->nkids = nb;
				continue;
			}
			P->nkids = nb;
			if ((rc = word_scan(P, c, WS_WORD, w->ctx, w->depth,
			    &wd)) == 0)
				rc = cb_arg(&cb, &wd);
		} else if (P->kids[kb + i].f == F_ARGUMENT) {
			if (adjacent(P, &last, c))
				break;
			rc = arg_node(P, &cb, w, c);
		} else
			rc = bad(P, nstart(c), "unexpected '%s' in a command",
			    ts_node_type(c));
	}
	P->nkids = kb;
	for (i = 0; i < rn && rc == 0; i++) {
		c = P->kids[rb + i].n;
		if (shell_kindof(c) == K_HEREDOC_REDIR)
			rc = lost_dash(P, &cb, i == 0 ? nend(n) :
			    nend(P->kids[rb + i - 1].n), nstart(c));
		last = (size_t)-1;
		if (rc == 0)
			rc = redirect(P, &cb, w, c, &last);
	}
	if (rc == 0 && cb.c.argc > 0 && !(cb.c.flags & SHELL_C_TEST)) {
		for (i = 0; shell_reserved[i] != NULL; i++)
			if (strcmp(cb.c.argv[0].text, shell_reserved[i]) == 0)
				bad(P, cb.c.start, "'%s' where a command "
				    "should be", shell_reserved[i]);
	}
out:
	if (rc != 0) {
		cmd_free(&cb.c);
		return rc;
	}
	return cb_finish(P, &cb);
}

/* --- redirects ------------------------------------------------------------ */

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int
parse_fd(struct parse *P, TSNode n, int *fd)
{
	size_t a = nstart(n), b = nend(n);
	long v = 0;

	if (a == b || b - a > 9)
		return bad(P, a, "unsupported file descriptor");
	for (; a < b; a++) {
		if (P->src[a] < '0' || P->src[a] > '9')
			return bad(P, a, "unsupported file descriptor");
		v = v * 10 + (P->src[a] - '0');
	}
	*fd = (int)v;
	return 0;
}

static void
classify(struct shell_redir *r)
{
	const char *t = r->target.text;
	int stat = r->target.flags == 0;

	if (strcmp(r->op, "<&-") == 0 || strcmp(r->op, ">&-") == 0) {
		r->kind = SHELL_R_CLOSE;
		return;
	}
	if (strcmp(r->op, "<&") == 0 || strcmp(r->op, ">&") == 0) {
		if (stat && all_digits(t))
			r->kind = SHELL_R_DUP;
		else if (stat && strcmp(t, "-") == 0)
			r->kind = SHELL_R_CLOSE;
		else
			/* >&word is &>word; a target not known now may be
			 * either, so it is taken as the file. */
			r->kind = r->op[0] == '<' ? SHELL_R_READ :
			    SHELL_R_WRITE;
	} else
		r->kind = r->op[0] == '<' ? SHELL_R_READ : SHELL_R_WRITE;
	if (stat && strcmp(t, "/dev/null") == 0)
		r->kind = SHELL_R_DEVNULL;
}

/* Checks a here-doc against bash's rule for where it ends: the first line
 * that is exactly the delimiter (after leading tabs, for <<-). */
static int
heredoc_check(struct parse *P, TSNode body, TSNode end, const char *delim,
    int strip)
{
	size_t dl = strlen(delim), a, b, i, ls, e;

	a = ts_node_is_null(body) ? nstart(end) : nstart(body);
	b = nstart(end);
	for (ls = a, i = a; i <= b; i++) {
		if (i < b && P->src[i] != '\n')
			continue;
		e = ls;
		while (strip && e < i && P->src[e] == '\t')
			e++;
		if (i < b && i - e == dl && memcmp(P->src + e, delim, dl) == 0)
			return bad(P, e, "here-doc delimiter inside its body");
		if (i == b && e != i)
			return bad(P, ls, "here-doc end is not on a line of "
			    "its own");
		ls = i + 1;
	}
	a = nstart(end);
	b = nend(end);
	while (strip && a < b && P->src[a] == '\t')
		a++;
	if (b - a != dl || memcmp(P->src + a, delim, dl) != 0)
		return bad(P, a, "here-doc ends at the wrong line");
	if (b < P->len && P->src[b] != '\n')
		return bad(P, b, "text after a here-doc delimiter");
	return 0;
}

/* The body of an unquoted here-doc: expansions and substitutions. */
static int
heredoc_body(struct parse *P, TSNode body, const struct work *w)
{
	size_t sb = P->nspec, hb = P->nholes, kb, kn, i;
	unsigned flags = 0;
	struct buf o;
	enum kind k;
	TSNode c;
	int rc;

	buf_init(&o, 0);
	if ((rc = kids(P, body, &kb, &kn)) != 0)
		goto out;
	for (i = 0; i < kn && rc == 0; i++) {
		c = P->kids[kb + i].n;
		k = shell_kindof(c);
		if (k == K_SIMPLE_EXP || k == K_EXPANSION || k == K_CMDSUB ||
		    k == K_ARITH)
			rc = add_special(P, c, k);
		else if (k != K_HEREDOC_CONTENT)
			rc = bad(P, nstart(c), "unexpected '%s' in a here-doc",
			    ts_node_type(c));
	}
	P->nkids = kb;
	if (rc == 0)
		rc = scan(P, nstart(body), nend(body), WS_HEREDOC, sb, P->nspec,
		    w->ctx, w->depth, &o, &flags);
	if (rc == 0)
		rc = cover_minus(P, nstart(body), nend(body), hb);
out:
	P->nspec = sb;
	P->nholes = hb;
	buf_free(&o);
	return rc;
}

static int
heredoc(struct parse *P, struct cmdb *cb, const struct work *w, TSNode n,
    struct shell_redir *r, size_t *last)
{
	size_t kb, kn, i, a, b;
	struct shell_word wd;
	TSNode c, start, body, end;
	enum kind k;
	int rc = 0, quoted = 0, strip = 0;

	memset(&start, 0, sizeof(start));
	body = end = start;
	if ((rc = kids(P, n, &kb, &kn)) != 0)
		return rc;
	for (i = 0; i < kn && rc == 0; i++) {
		c = P->kids[kb + i].n;
		k = shell_kindof(c);
		if (ts_node_is_missing(c) || k == K_ERROR) {
			rc = bad(P, nstart(c), "syntax error");
			break;
		}
		switch (k) {
		case K_FD:
			rc = cover_node(P, c);
			if (rc == 0)
				rc = parse_fd(P, c, &r->fd);
			break;
		case K_HEREDOC_START:
			start = c;
			rc = cover_node(P, c);
			break;
		case K_HEREDOC_BODY:
			body = c;
			break;
		case K_HEREDOC_END:
			end = c;
			break;
		case K_PIPELINE:
			/* cat <<EOF | grep x: the rest of the pipeline. */
			P->l->flags |= SHELL_L_PIPE;
			rc = push_work(P, c, w->ctx, w->depth);
			break;
		case K_FILE_REDIR:
		case K_HERESTRING_REDIR:
			rc = redirect(P, cb, w, c, last);
			break;
		case K_ANON:
			rc = cover_node(P, c);
			if (tok_is(P, c, "<<-")) {
				strip = 1;
				memcpy(r->op, "<<-", 4);
			} else if (tok_is(P, c, "<<"))
				memcpy(r->op, "<<", 3);
			else if (tok_is(P, c, "&&") || tok_is(P, c, "||"))
				P->l->flags |= SHELL_L_COMPOUND;
			else
				rc = bad(P, nstart(c), "unexpected '%s' in a "
				    "here-doc", ts_node_type(c));
			break;
		default:
			if (P->kids[kb + i].f == F_RIGHT &&
			    shell_is_statement(k))
				rc = push_work(P, c, w->ctx, w->depth);
			else if (P->kids[kb + i].f == F_ARGUMENT &&
			    !cb->grouped) {
				/* cat <<EOF file: words after the
				 * delimiter are the command's. */
				if (adjacent(P, last, c))
					break;
				rc = arg_node(P, cb, w, c);
			} else
				rc = bad(P, nstart(c), "unexpected '%s' in a "
				    "here-doc", ts_node_type(c));
			break;
		}
	}
	P->nkids = kb;
	if (rc != 0)
		return rc;
	if (ts_node_is_null(start) || ts_node_is_null(end))
		return bad(P, nstart(n), "here-doc without a delimiter or end");
	/* The delimiter: quote removal only; any quoting turns expansion in
	 * the body off. */
	a = nstart(start);
	b = nend(start);
	for (i = a; i < b; i++)
		if (P->src[i] == '\'' || P->src[i] == '"' || P->src[i] == '\\')
			quoted = 1;
	{
		struct buf o;
		unsigned fl = 0;

		buf_init(&o, 0);
		rc = scan(P, a, b, WS_LITERAL, P->nspec, P->nspec, w->ctx,
		    w->depth, &o, &fl);
		if (rc == 0)
			rc = word_take(&wd, &o, 0);
		buf_free(&o);
		if (rc != 0)
			return rc;
	}
	r->target = wd;
	r->kind = SHELL_R_HEREDOC;
	if (wd.len == 0)
		return bad(P, a, "empty here-doc delimiter");
	if ((rc = heredoc_check(P, body, end, wd.text, strip)) != 0)
		return rc;
	if ((rc = cover_node(P, end)) != 0)
		return rc;
	if (ts_node_is_null(body))
		return 0;
	if (quoted) {
		if (ts_node_named_child_count(body) != 0)
			return bad(P, nstart(body), "the parser expands a "
			    "quoted here-doc");
		return cover_node(P, body);
	}
	return heredoc_body(P, body, w);
}

/* One redirect node, added to cb. Words tree-sitter puts after a target
 * (echo > f a b) are the command's arguments in bash. */
static int
redirect(struct parse *P, struct cmdb *cb, const struct work *w, TSNode n,
    size_t *last)
{
	struct shell_redir r;
	struct shell_word wd;
	size_t kb, kn, i;
	enum kind k = shell_kindof(n), ck;
	TSNode c;
	int rc = 0, have_target = 0;

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	if (k == K_HEREDOC_REDIR) {
		rc = heredoc(P, cb, w, n, &r, last);
		if (r.target.text == NULL) {
			if (rc != 0)
				return rc;
			if ((rc = word_set(&r.target, "", 0, 0)) != 0)
				return rc;
			r.kind = SHELL_R_HEREDOC;
		}
		if (r.op[0] == '\0')
			memcpy(r.op, "<<", 3);
		if (r.fd < 0)
			r.fd = 0;
		if (rc != 0) {
			word_free(&r.target);
			return rc;
		}
		return cb_redir(cb, &r);
	}
	if (k != K_FILE_REDIR && k != K_HERESTRING_REDIR)
		return bad(P, nstart(n), "unexpected '%s' as a redirect",
		    ts_node_type(n));
	if ((rc = kids(P, n, &kb, &kn)) != 0)
		return rc;
	for (i = 0; i < kn && rc == 0; i++) {
		c = P->kids[kb + i].n;
		ck = shell_kindof(c);
		if (ts_node_is_missing(c) || ck == K_ERROR) {
			rc = bad(P, nstart(c), "syntax error");
			break;
		}
		if (ck == K_FD) {
			if ((rc = cover_node(P, c)) == 0)
				rc = parse_fd(P, c, &r.fd);
		} else if (ck == K_ANON && r.op[0] == '\0' &&
		    nend(c) - nstart(c) <= 3) {
			rc = cover_node(P, c);
			memcpy(r.op, P->src + nstart(c), nend(c) - nstart(c));
		} else if (!have_target && r.op[0] != '\0' &&
		    shell_is_wordlike(ck) && strcmp(r.op, "<&-") != 0 &&
		    strcmp(r.op, ">&-") != 0) {
			*last = nend(c);
			rc = word_scan(P, c, WS_WORD, w->ctx, w->depth,
			    &r.target);
			have_target = rc == 0;
		} else if (shell_is_wordlike(ck) && !cb->grouped) {
			if (adjacent(P, last, c))
				break;
			if ((rc = word_scan(P, c, WS_WORD, w->ctx, w->depth,
			    &wd)) == 0)
				rc = cb_arg(cb, &wd);
		} else
			rc = bad(P, nstart(c), "unexpected '%s' in a redirect",
			    ts_node_type(c));
	}
	P->nkids = kb;
	if (rc == 0 && !have_target && strcmp(r.op, "<&-") != 0 &&
	    strcmp(r.op, ">&-") != 0)
		rc = bad(P, nstart(n), "redirect without a target");
	if (rc == 0 && r.target.text == NULL)
		rc = word_set(&r.target, "", 0, 0);
	if (rc != 0) {
		word_free(&r.target);
		return rc;
	}
	if (k == K_HERESTRING_REDIR) {
		memcpy(r.op, "<<<", 4);
		r.kind = SHELL_R_HERESTRING;
	} else
		classify(&r);
	if (r.fd < 0)
		r.fd = r.op[0] == '<' ? 0 : 1;
	return cb_redir(cb, &r);
}

/* --- other statements ----------------------------------------------------- */

/* A compound command with redirects, or a redirect alone (>f): the
 * redirects go on a command with no words, which policy checks like any
 * other; the body is visited on its own. */
static int
redirected(struct parse *P, const struct work *w, TSNode n)
{
	size_t kb, kn, i, rb, rn = 0, last = (size_t)-1;
	TSNode body, c;
	struct cmdb cb;
	enum kind k;
	int rc, has_body = 0;

	memset(&body, 0, sizeof(body));
	if ((rc = kids(P, n, &kb, &kn)) != 0)
		return rc;
	rb = P->nkids;
	for (i = 0; i < kn && rc == 0; i++) {
		c = P->kids[kb + i].n;
		k = shell_kindof(c);
		if (P->kids[kb + i].f == F_BODY && !has_body) {
			body = c;
			has_body = 1;
		} else if (k == K_FILE_REDIR || k == K_HEREDOC_REDIR ||
		    k == K_HERESTRING_REDIR) {
			/* Copied above the children so both stay valid. */
			if ((rc = shell_grow(&P->kids, &P->capkids,
			    P->nkids + 1, sizeof(*P->kids))) != 0)
				break;
			P->kids[P->nkids++] = P->kids[kb + i];
			rn++;
		} else
			rc = bad(P, nstart(c), "unexpected '%s' in a "
			    "redirected statement", ts_node_type(c));
	}
	if (rc == 0 && has_body && shell_kindof(body) == K_COMMAND)
		rc = command(P, w, body, n, rb, rn);
	else if (rc == 0) {
		cb_init(P, &cb, w, n);
		cb.grouped = has_body;
		for (i = 0; i < rn && rc == 0; i++) {
			last = (size_t)-1;
			rc = redirect(P, &cb, w, P->kids[rb + i].n, &last);
		}
		if (rc == 0)
			rc = cb_finish(P, &cb);
		else
			cmd_free(&cb.c);
		if (rc == 0 && has_body)
			rc = push_work(P, body, w->ctx, w->depth);
	}
	P->nkids = kb;
	return rc;
}

/* x=1 alone, or several: a command with assignments and no words. */
static int
assignments(struct parse *P, const struct work *w, TSNode n)
{
	struct shell_word wd;
	struct cmdb cb;
	size_t kb, kn, i, last = (size_t)-1;
	int rc = 0;

	P->l->flags |= SHELL_L_ASSIGN;
	cb_init(P, &cb, w, n);
	if (shell_kindof(n) == K_ASSIGN) {
		if ((rc = assign_word(P, n, w, &wd)) == 0)
			rc = cb_assign(&cb, &wd);
	} else {
		if ((rc = kids(P, n, &kb, &kn)) != 0)
			goto out;
		for (i = 0; i < kn && rc == 0; i++) {
			TSNode c = P->kids[kb + i].n;

			if (shell_kindof(c) != K_ASSIGN) {
				rc = bad(P, nstart(c), "unexpected '%s'",
				    ts_node_type(c));
				break;
			}
			if (adjacent(P, &last, c))
				break;
			if ((rc = assign_word(P, c, w, &wd)) == 0)
				rc = cb_assign(&cb, &wd);
		}
		P->nkids = kb;
	}
out:
	if (rc != 0) {
		cmd_free(&cb.c);
		return rc;
	}
	return cb_finish(P, &cb);
}

/* export/declare/local/readonly/typeset/unset: a command whose words are
 * the keyword and its operands. */
static int
declaration(struct parse *P, const struct work *w, TSNode n)
{
	struct shell_word wd;
	struct cmdb cb;
	size_t kb, kn, i, last = (size_t)-1;
	enum kind k;
	TSNode c;
	int rc = 0;

	P->l->flags |= SHELL_L_ASSIGN;
	cb_init(P, &cb, w, n);
	if ((rc = kids(P, n, &kb, &kn)) != 0)
		goto out;
	for (i = 0; i < kn && rc == 0; i++) {
		c = P->kids[kb + i].n;
		k = shell_kindof(c);
		if (ts_node_is_missing(c) || k == K_ERROR) {
			rc = bad(P, nstart(c), "syntax error");
			break;
		}
		if (k != K_COMMENT && adjacent(P, &last, c))
			break;
		if (k == K_ANON && i == 0) {
			if ((rc = cover_node(P, c)) == 0)
				rc = cb_lit(&cb, P->src + nstart(c),
				    nend(c) - nstart(c), 0);
		} else if (k == K_ASSIGN) {
			if ((rc = assign_word(P, c, w, &wd)) == 0)
				rc = cb_arg(&cb, &wd);
		} else if (k == K_VARNAME) {
			if ((rc = cover_node(P, c)) == 0)
				rc = cb_lit(&cb, P->src + nstart(c),
				    nend(c) - nstart(c), 0);
		} else if (shell_is_wordlike(k)) {
			if ((rc = word_scan(P, c, WS_WORD, w->ctx, w->depth,
			    &wd)) == 0)
				rc = cb_arg(&cb, &wd);
		} else
			rc = bad(P, nstart(c), "unexpected '%s' in '%s'",
			    ts_node_type(c), ts_node_type(n));
	}
	P->nkids = kb;
out:
	if (rc != 0) {
		cmd_free(&cb.c);
		return rc;
	}
	return cb_finish(P, &cb);
}

/* Tokens that mean something else to bash inside [ ]: there, < and > are
 * redirects, && and || end the command, ( ) are syntax errors. */
static const char *const shell_bracket_bad[] = {
	"<", ">", ">>", "&&", "||", "(", ")", "&", ";", "|", NULL
};

/* [ ... ], [[ ... ]] and (( ... )) as a test command: argv is the
 * opening token, the operands and operators in order, the closing one. */
static int
test_command(struct parse *P, const struct work *w, TSNode n)
{
	struct shell_word wd;
	struct cmdb cb;
	size_t nb = P->nnodes;
	enum kind k;
	TSNode c;
	int rc = 0, single;

	cb_init(P, &cb, w, n);
	cb.c.flags |= SHELL_C_TEST;
	single = P->src[nstart(n)] == '[' && !(nend(n) - nstart(n) >= 2 &&
	    P->src[nstart(n) + 1] == '[');
	if (P->src[nstart(n)] == '(') {
		rc = arith_command(P, &cb, w, n);
		goto out;
	}
	if ((rc = push_children(P, n)) != 0)
		goto out;
	while (P->nnodes > nb && rc == 0) {
		c = P->nodes[--P->nnodes];
		k = shell_kindof(c);
		if (ts_node_is_missing(c) || k == K_ERROR) {
			rc = bad(P, nstart(c), "syntax error");
			break;
		}
		switch (k) {
		case K_ANON:
			if (single && is_one_of(P, c, shell_bracket_bad)) {
				rc = bad(P, nstart(c), "bash reads '%s' inside "
				    "[ ] differently", ts_node_type(c));
				break;
			}
			if ((rc = cover_node(P, c)) == 0)
				rc = cb_lit(&cb, P->src + nstart(c),
				    nend(c) - nstart(c), 0);
			break;
		case K_BINARY: case K_UNARY: case K_TERNARY: case K_POSTFIX:
		case K_PAREN_EXPR:
			rc = push_children(P, c);
			break;
		case K_REGEX: case K_EXTGLOB: case K_TEST_OP: case K_VARNAME:
		case K_SPECIAL_VARNAME:
			if ((rc = opaque_cover(P, c, w->ctx, w->depth)) == 0)
				rc = cb_lit(&cb, P->src + nstart(c),
				    nend(c) - nstart(c), 0);
			break;
		case K_SUBSCRIPT:
		case K_ASSIGN:
			if ((rc = opaque_cover(P, c, w->ctx, w->depth)) == 0)
				rc = cb_lit(&cb, P->src + nstart(c),
				    nend(c) - nstart(c), SHELL_W_VAR);
			break;
		default:
			if (!shell_is_wordlike(k)) {
				rc = bad(P, nstart(c), "unexpected '%s' in a "
				    "test", ts_node_type(c));
				break;
			}
			if ((rc = word_scan(P, c, WS_WORD, w->ctx, w->depth,
			    &wd)) == 0)
				rc = cb_arg(&cb, &wd);
			break;
		}
	}
out:
	P->nnodes = nb;
	if (rc != 0) {
		cmd_free(&cb.c);
		return rc;
	}
	return cb_finish(P, &cb);
}

/* A comment is believed only where bash starts one: at the start of a
 * word. Elsewhere tree-sitter would be hiding the rest of the line. */
static int
comment(struct parse *P, TSNode n)
{
	size_t a = nstart(n);

	if (a > 0 && strchr(" \t\n;&|()<>", P->src[a - 1]) == NULL)
		return bad(P, a, "a comment bash would not see");
	if (a > 1 && P->src[a - 1] == '\n' && P->src[a - 2] == '\\')
		return bad(P, a, "a comment after a line continuation");
	return cover_node(P, n);
}

static int
add_func(struct parse *P, const char *name)
{
	char *s;
	int rc;

	if ((rc = shell_grow(&P->funcs, &P->capfuncs, P->nfuncs + 1,
	    sizeof(*P->funcs))) != 0)
		return rc;
	if ((s = strdup(name)) == NULL)
		return WARD_ENOMEM;
	P->funcs[P->nfuncs++] = s;
	return 0;
}

/* Separators and keywords each construct may contain. */
static const char *const kw_none[] = { NULL };
static const char *const kw_list[] = { "&&", "||", NULL };
static const char *const kw_pipe[] = { "|", "|&", NULL };
static const char *const kw_subshell[] = { "(", ")", NULL };
static const char *const kw_compound[] = { "{", "}", NULL };
static const char *const kw_do[] = { "do", "done", NULL };
static const char *const kw_cmdsub[] = { "$(", ")", "`", "$`", NULL };
static const char *const kw_procsub[] = { "<(", ">(", ")", NULL };
static const char *const kw_if[] = { "if", "then", "fi", NULL };
static const char *const kw_elif[] = { "elif", "then", NULL };
static const char *const kw_else[] = { "else", NULL };
static const char *const kw_while[] = { "while", "until", NULL };
static const char *const kw_for[] = { "for", "select", "in", NULL };
static const char *const kw_cfor[] = { "for", "((", "))", ",", NULL };
static const char *const kw_case[] = { "case", "in", "esac", NULL };
static const char *const kw_item[] = { "(", ")", "|", ";;", ";&", ";;&",
	NULL };
static const char *const kw_negated[] = { "!", NULL };
static const char *const kw_func[] = { "function", "(", ")", NULL };
static const char *const kw_sep[] = { ";", "\n", NULL };

/* Anything that holds statements: queues them (in order, marking the one
 * before an & as background) and checks every other child. */
static int
container(struct parse *P, const struct work *w, TSNode n)
{
	const char *const *kw = kw_none;
	enum kind pk = shell_kindof(n), k;
	unsigned ctx = w->ctx, depth = w->depth;
	size_t kb, kn, i, pb = P->npend, nstmt = 0;
	struct shell_word wd;
	struct cmdb cb;
	TSFieldId f;
	TSNode c;
	int rc, grouped = 0;

	switch (pk) {
	case K_PROGRAM: break;
	case K_LIST: kw = kw_list; P->l->flags |= SHELL_L_COMPOUND; break;
	case K_PIPELINE: kw = kw_pipe; P->l->flags |= SHELL_L_PIPE; break;
	case K_SUBSHELL:
		kw = kw_subshell;
		ctx |= SHELL_CTX_SUBSHELL;
		depth++;
		P->l->flags |= SHELL_L_SUBSHELL;
		break;
	case K_COMPOUND: kw = kw_compound; break;
	case K_DO_GROUP: kw = kw_do; break;
	case K_CMDSUB:
		kw = kw_cmdsub;
		ctx |= SHELL_CTX_CMDSUB;
		depth++;
		P->l->flags |= SHELL_L_SUBSHELL;
		/* Inside ` `, bash removes backslashes before parsing;
		 * tree-sitter does not. */
		if (P->src[nstart(n)] == '`' || P->src[nstart(n) + 1] == '`') {
			for (i = nstart(n) + 1; i + 1 < nend(n); i++)
				if (P->src[i] == '\\')
					return bad(P, i, "backslash inside "
					    "backquotes");
		}
		break;
	case K_PROCSUB:
		kw = kw_procsub;
		ctx |= SHELL_CTX_PROCSUB;
		depth++;
		P->l->flags |= SHELL_L_SUBSHELL;
		break;
	case K_IF: kw = kw_if; P->l->flags |= SHELL_L_COMPOUND; break;
	case K_ELIF: kw = kw_elif; break;
	case K_ELSE: kw = kw_else; break;
	case K_WHILE: kw = kw_while; P->l->flags |= SHELL_L_COMPOUND; break;
	case K_FOR: kw = kw_for; P->l->flags |= SHELL_L_COMPOUND; break;
	case K_CFOR: kw = kw_cfor; P->l->flags |= SHELL_L_COMPOUND; break;
	case K_CASE: kw = kw_case; P->l->flags |= SHELL_L_COMPOUND; break;
	case K_CASE_ITEM: kw = kw_item; break;
	case K_NEGATED: kw = kw_negated; break;
	case K_FUNCDEF:
		kw = kw_func;
		ctx |= SHELL_CTX_FUNCTION;
		depth++;
		P->l->flags |= SHELL_L_FUNCDEF | SHELL_L_COMPOUND;
		break;
	default:
		return bad(P, nstart(n), "unsupported construct '%s'",
		    ts_node_type(n));
	}
	/* Redirects of a function definition or $(<file) go on a command
	 * of their own. */
	cb_init(P, &cb, w, n);
	cb.c.ctx = ctx;
	cb.c.depth = depth;
	cb.grouped = 1;
	if ((rc = kids(P, n, &kb, &kn)) != 0)
		goto out;
	for (i = 0; i < kn && rc == 0; i++) {
		c = P->kids[kb + i].n;
		f = P->kids[kb + i].f;
		k = shell_kindof(c);
		if (ts_node_is_missing(c) || k == K_ERROR) {
			rc = bad(P, nstart(c), "syntax error");
			break;
		}
		if (pk == K_CFOR && (f == F_INITIALIZER || f == F_CONDITION ||
		    f == F_UPDATE)) {
			if (k == K_ANON)
				rc = cover_node(P, c);
			else
				rc = opaque_cover(P, c, ctx, depth);
			continue;
		}
		if (k == K_ANON) {
			if ((rc = cover_node(P, c)) != 0)
				break;
			if (tok_is(P, c, "&")) {
				if (P->npend == pb) {
					rc = bad(P, nstart(c), "unexpected &");
					break;
				}
				P->pend[P->npend - 1].ctx |=
				    SHELL_CTX_BACKGROUND;
				P->l->flags |= SHELL_L_BACKGROUND;
			} else if (!is_one_of(P, c, kw) &&
			    !is_one_of(P, c, kw_sep))
				rc = bad(P, nstart(c), "unexpected '%s'",
				    ts_node_type(c));
			continue;
		}
		if (shell_is_statement(k)) {
			rc = push_pend(P, c, ctx, depth);
			nstmt++;
			continue;
		}
		switch (k) {
		case K_COMMENT:
			rc = comment(P, c);
			break;
		case K_ELIF:
		case K_ELSE:
			if (pk != K_IF)
				goto unexpected;
			rc = push_pend(P, c, ctx, depth);
			break;
		case K_DO_GROUP:
			if (pk != K_WHILE && pk != K_FOR && pk != K_CFOR)
				goto unexpected;
			rc = push_pend(P, c, ctx, depth);
			break;
		case K_CASE_ITEM:
			if (pk != K_CASE)
				goto unexpected;
			rc = push_pend(P, c, ctx, depth);
			break;
		case K_VARNAME:
			if (pk != K_FOR)
				goto unexpected;
			rc = cover_node(P, c);
			break;
		case K_EXTGLOB:
			if (pk != K_CASE_ITEM)
				goto unexpected;
			rc = opaque_cover(P, c, ctx, depth);
			break;
		case K_FILE_REDIR:
		case K_HERESTRING_REDIR:
		case K_HEREDOC_REDIR:
			if (pk != K_FUNCDEF && pk != K_CMDSUB)
				goto unexpected;
			{
				size_t last = (size_t)-1;

				grouped = 1;
				rc = redirect(P, &cb, w, c, &last);
			}
			break;
		default:
			if (!shell_is_wordlike(k))
				goto unexpected;
			if (pk == K_FUNCDEF && f == F_NAME) {
				if ((rc = word_scan(P, c, WS_WORD, ctx, depth,
				    &wd)) != 0)
					break;
				if (wd.flags == 0)
					rc = add_func(P, wd.text);
				word_free(&wd);
			} else if ((pk == K_FOR || pk == K_CASE ||
			    pk == K_CASE_ITEM) && f == F_VALUE) {
				/* Loop values and case patterns: only their
				 * substitutions run. */
				if ((rc = word_scan(P, c, WS_WORD, ctx, depth,
				    &wd)) == 0)
					word_free(&wd);
			} else
				goto unexpected;
			break;
		unexpected:
			rc = bad(P, nstart(c), "unexpected '%s' in '%s'",
			    ts_node_type(c), ts_node_type(n));
			break;
		}
	}
	P->nkids = kb;
	/* Several statements in sequence are compound; the parts of a
	 * pipeline are not. */
	if (rc == 0 && nstmt > 1 && pk != K_PIPELINE && pk != K_NEGATED)
		P->l->flags |= SHELL_L_COMPOUND;
	if (rc == 0 && grouped)
		rc = cb_finish(P, &cb);
	else
		cmd_free(&cb.c);
	if (rc == 0)
		rc = flush_pend(P, pb);
	P->npend = pb;
	return rc;
out:
	cmd_free(&cb.c);
	return rc;
}

/* A here-doc backquote: the text between the backquotes is parsed as a
 * script of its own (it has no backslashes, so bash sees it as written). */
static int
backquote(struct parse *P, const struct work *w)
{
	char pre[96];
	int ovr = 1;
	size_t a = w->a, b = w->b;

	P->l->flags |= SHELL_L_SUBSHELL;
	if (P->level >= SHELL_REPARSE_MAX)
		return bad(P, a, "backquotes nested too deeply");
	snprintf(pre, sizeof(pre), "%sbackquotes at byte %zu: ", P->prefix, a);
	if (P->ovr) {
		a = P->ova;
		b = P->ovb;
	}
	return parse_text(P->src + w->a + 1, w->b - w->a - 2, P->level + 1,
	    w->ctx | SHELL_CTX_CMDSUB, w->depth + 1, ovr, a, b, pre, P->l,
	    P->err);
}

static int
visit(struct parse *P, const struct work *w)
{
	TSNode n = w->n;
	enum kind k;

	if (w->bt)
		return backquote(P, w);
	k = shell_kindof(n);
	if (ts_node_is_missing(n) || k == K_ERROR)
		return bad(P, nstart(n), "syntax error");
	switch (k) {
	case K_COMMAND:
		return command(P, w, n, n, 0, 0);
	case K_REDIRECTED:
		return redirected(P, w, n);
	case K_ASSIGN:
	case K_ASSIGNS:
		return assignments(P, w, n);
	case K_DECL:
	case K_UNSET:
		return declaration(P, w, n);
	case K_TEST:
		return test_command(P, w, n);
	default:
		return container(P, w, n);
	}
}

/* Everything not covered by an understood node must be blanks or line
 * continuations, and a continuation alone must not join two tokens that
 * bash would then read as one. */
static int
sweep(struct parse *P)
{
	size_t i, cur = 0, a, b, j;
	int blank;

	if (P->ncover > 1)
		qsort(P->cover, P->ncover, sizeof(*P->cover), span_cmp);
	for (i = 0; i <= P->ncover; i++) {
		a = cur;
		b = i < P->ncover ? P->cover[i].a : P->len;
		if (b > a) {
			blank = 0;
			for (j = a; j < b; j++) {
				if (P->src[j] == ' ' || P->src[j] == '\t' ||
				    P->src[j] == '\n')
					blank = 1;
				else if (P->src[j] == '\\' && j + 1 < b &&
				    P->src[j + 1] == '\n')
					j++;
				else
					return bad(P, j, "text the parser "
					    "skipped");
			}
			if (!blank && a > 0 && b < P->len &&
			    strchr(" \t\n;&|()<>", P->src[a - 1]) == NULL &&
			    strchr(" \t\n;&|()<>", P->src[b]) == NULL)
				return bad(P, a, "a line continuation joins "
				    "two words");
		}
		if (i < P->ncover && P->cover[i].b > cur)
			cur = P->cover[i].b;
	}
	return 0;
}

static int
str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Marks calls of functions the text defines, for policy to see that the
 * name is not the program of that name. */
static void
mark_calls(struct parse *P, size_t first)
{
	size_t i;
	char *key;

	if (P->nfuncs == 0)
		return;
	qsort(P->funcs, P->nfuncs, sizeof(*P->funcs), str_cmp);
	for (i = first; i < P->l->ncmds; i++) {
		struct shell_cmd *c = &P->l->cmds[i];

		if (c->argc == 0 || c->argv[0].flags != 0)
			continue;
		key = c->argv[0].text;
		if (bsearch(&key, P->funcs, P->nfuncs, sizeof(*P->funcs),
		    str_cmp) != NULL)
			c->flags |= SHELL_C_FUNCTION_CALL;
	}
}

static void
parse_release(struct parse *P)
{
	size_t i;

	for (i = 0; i < P->nfuncs; i++)
		free(P->funcs[i]);
	free(P->funcs);
	free(P->stack);
	free(P->pend);
	free(P->kids);
	free(P->nodes);
	free(P->spec);
	free(P->holes);
	free(P->cover);
}

/*
 * Parses s[0, len) and appends its commands to l with ctx/depth added.
 * level counts parses again (sh -c, eval, backquotes); ovr replaces the
 * span of every command by [ova, ovb); prefix starts any reason.
 */
static int
parse_text(const char *s, size_t len, int level, unsigned ctx,
    unsigned depth, int ovr, size_t ova, size_t ovb, const char *prefix,
    struct shell_list *l, struct buf *err)
{
	struct parse P;
	TSParser *parser = NULL;
	TSTree *tree = NULL;
	TSNode root;
	size_t first = l->ncmds, before, i, j;
	struct work w, tmp;
	int rc = 0;

	memset(&P, 0, sizeof(P));
	P.src = s;
	P.len = len;
	P.level = level;
	P.ovr = ovr;
	P.ova = ova;
	P.ovb = ovb;
	P.prefix = prefix;
	P.l = l;
	P.err = err;
	if (len > SHELL_MAX_LEN)
		return bad(&P, SHELL_MAX_LEN, "longer than %d bytes",
		    SHELL_MAX_LEN);
	if (memchr(s, '\0', len) != NULL)
		return bad(&P, (size_t)((const char *)memchr(s, '\0', len) - s),
		    "NUL byte");
	if (utf8_valid_prefix(s, len) != len)
		return bad(&P, utf8_valid_prefix(s, len), "invalid UTF-8");
	if ((parser = ts_parser_new()) == NULL)
		return WARD_ENOMEM;
	if (!ts_parser_set_language(parser, tree_sitter_bash())) {
		rc = WARD_EUNAVAIL;
		goto out;
	}
	/* Error recovery can be quadratic (a long pipeline ending in a
	 * syntax error): bound the time, not the input's shape. */
	ts_parser_set_timeout_micros(parser, SHELL_PARSE_MICROS);
	if ((tree = ts_parser_parse_string(parser, NULL, s,
	    (uint32_t)len)) == NULL) {
		rc = bad(&P, 0, "took too long to parse");
		goto out;
	}
	root = ts_tree_root_node(tree);
	P.cur = ts_tree_cursor_new(root);
	if ((rc = push_work(&P, root, ctx, depth)) != 0)
		goto out;
	while (P.nstack > 0) {
		w = P.stack[--P.nstack];
		before = P.nstack;
		if ((rc = visit(&P, &w)) != 0)
			goto out;
		for (i = before, j = P.nstack; j > i + 1; i++, j--) {
			tmp = P.stack[i];
			P.stack[i] = P.stack[j - 1];
			P.stack[j - 1] = tmp;
		}
	}
	if (ts_node_has_error(root))
		bad(&P, 0, "syntax error");
	if ((rc = sweep(&P)) != 0)
		goto out;
	mark_calls(&P, first);
out:
	if (tree != NULL) {
		ts_tree_cursor_delete(&P.cur);
		ts_tree_delete(tree);
	}
	ts_parser_delete(parser);
	parse_release(&P);
	return rc;
}

int
shell_parse(const char *cmd, size_t len, struct shell_list **out,
    struct buf *err)
{
	struct shell_list *l;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (cmd == NULL || out == NULL)
		return WARD_EINVAL;
	if (pthread_once(&shell_once, shell_init) != 0 || !shell_ready)
		return WARD_EUNAVAIL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return WARD_ENOMEM;
	if ((rc = parse_text(cmd, len, 0, 0, 0, 0, 0, 0, "", l, err)) != 0) {
		shell_list_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

void
shell_list_free(struct shell_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->ncmds; i++)
		cmd_free(&l->cmds[i]);
	free(l->cmds);
	free(l);
}

/* --- wrappers ------------------------------------------------------------- */

/* What a wrapper runs. */
struct inner {
	int		 what;		/* W_* */
	size_t		 k, end;	/* argv[k, end) is the inner command */
	size_t		 ab, ae;	/* argv[ab, ae) are env's NAME=value */
	const char	*repl;		/* xargs -I: words with it: RUNTIME */
	int		 open;		/* SHELL_C_OPEN_ARGS */
	int		 echo;		/* xargs without a command runs echo */
};

#define W_NONE		0	/* not a wrapper (or runs nothing) */
#define W_OPAQUE	1	/* runs something not known statically */
#define W_RUN		2	/* runs argv[k, end) */
#define W_SCRIPT	3	/* runs the shell text in argv[k] (sh -c) */
#define W_EVAL		4	/* runs argv[k, end) joined by spaces */

/* A word that could become several words, or an option, at run time. */
static int
dyn(const struct shell_word *w)
{
	return (w->flags & SHELL_W_DYNAMIC & ~SHELL_W_TILDE) != 0;
}

static int
is(const struct shell_word *w, const char *s)
{
	return w->flags == 0 && strcmp(w->text, s) == 0;
}

/* --name=value or --name value; returns the next index, or 0 when the
 * value is missing. */
static size_t
long_arg(const struct shell_cmd *c, size_t i)
{
	if (strchr(c->argv[i].text, '=') != NULL)
		return i + 1;
	return i + 1 < c->argc ? i + 2 : 0;
}

static int
env_name(const char *t)
{
	const char *eq = strchr(t, '=');
	const char *p;

	if (eq == NULL || eq == t)
		return 0;
	for (p = t; p < eq; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return 0;
	return 1;
}

static void
w_env(const struct shell_cmd *c, struct inner *in)
{
	size_t i = 1, j;
	const char *t;

	for (; i < c->argc; i++) {
		t = c->argv[i].text;
		if (dyn(&c->argv[i]))
			goto opaque;
		if (strcmp(t, "--") == 0 || strcmp(t, "-") == 0) {
			i++;
			break;
		}
		if (t[0] != '-')
			break;
		if (t[1] == '-') {
			if (strcmp(t, "--ignore-environment") == 0 ||
			    strcmp(t, "--null") == 0 ||
			    strcmp(t, "--debug") == 0 ||
			    strncmp(t, "--default-signal", 16) == 0 ||
			    strncmp(t, "--ignore-signal", 15) == 0 ||
			    strncmp(t, "--block-signal", 14) == 0)
				continue;
			if (strncmp(t, "--unset", 7) == 0 ||
			    strncmp(t, "--chdir", 7) == 0) {
				if ((j = long_arg(c, i)) == 0)
					goto opaque;
				i = j - 1;
				continue;
			}
			goto opaque;
		}
		for (j = 1; t[j] != '\0'; j++) {
			if (t[j] == 'i' || t[j] == '0' || t[j] == 'v')
				continue;
			if (t[j] == 'u' || t[j] == 'C') {
				if (t[j + 1] == '\0') {
					if (++i >= c->argc ||
					    dyn(&c->argv[i]))
						goto opaque;
				}
				break;
			}
			goto opaque;	/* -S splits a string: not followed */
		}
	}
	in->ab = i;
	for (; i < c->argc && env_name(c->argv[i].text); i++)
		;
	in->ae = i;
	if (i >= c->argc) {
		in->what = W_NONE;
		return;
	}
	in->what = W_RUN;
	in->k = i;
	in->end = c->argc;
	return;
opaque:
	in->what = W_OPAQUE;
}

/* command, exec, builtin, nohup, setsid, stdbuf, time, nice: options from
 * a short list, then the command. */
static void
w_simple(const struct shell_cmd *c, const char *name, struct inner *in)
{
	size_t i = 1, j;
	const char *t;

	for (; i < c->argc; i++) {
		t = c->argv[i].text;
		if (dyn(&c->argv[i]))
			goto opaque;
		if (strcmp(name, "builtin") == 0)
			break;
		if (strcmp(t, "--") == 0) {
			i++;
			break;
		}
		if (t[0] != '-' || t[1] == '\0')
			break;
		if (strcmp(name, "command") == 0) {
			if (strchr(t + 1, 'v') != NULL ||
			    strchr(t + 1, 'V') != NULL) {
				in->what = W_NONE;	/* only prints */
				return;
			}
			if (strspn(t + 1, "p") != strlen(t + 1))
				goto opaque;
		} else if (strcmp(name, "exec") == 0) {
			for (j = 1; t[j] != '\0'; j++) {
				if (t[j] == 'c' || t[j] == 'l')
					continue;
				if (t[j] == 'a' && t[j + 1] == '\0' &&
				    i + 1 < c->argc && !dyn(&c->argv[i + 1])) {
					i++;
					break;
				}
				goto opaque;
			}
		} else if (strcmp(name, "nice") == 0) {
			if (strcmp(t, "-n") == 0 ||
			    strcmp(t, "--adjustment") == 0) {
				if (++i >= c->argc || dyn(&c->argv[i]))
					goto opaque;
			} else if (strncmp(t, "-n", 2) == 0 ||
			    strncmp(t, "--adjustment=", 13) == 0 ||
			    strspn(t + 1, "0123456789") == strlen(t + 1) ||
			    (t[1] == '-' && t[2] != '\0' &&
			    strspn(t + 2, "0123456789") == strlen(t + 2)))
				continue;
			else
				goto opaque;
		} else if (strcmp(name, "setsid") == 0) {
			if (strspn(t + 1, "cfw") != strlen(t + 1) &&
			    strcmp(t, "--ctty") != 0 &&
			    strcmp(t, "--fork") != 0 &&
			    strcmp(t, "--wait") != 0)
				goto opaque;
		} else if (strcmp(name, "stdbuf") == 0) {
			if ((t[1] == 'i' || t[1] == 'o' || t[1] == 'e') &&
			    t[2] == '\0') {
				if (++i >= c->argc || dyn(&c->argv[i]))
					goto opaque;
			} else if (!((t[1] == 'i' || t[1] == 'o' ||
			    t[1] == 'e') && t[2] != '\0') &&
			    strncmp(t, "--input=", 8) != 0 &&
			    strncmp(t, "--output=", 9) != 0 &&
			    strncmp(t, "--error=", 8) != 0)
				goto opaque;
		} else if (strcmp(name, "time") == 0) {
			if (strcmp(t, "-p") != 0)
				goto opaque;	/* GNU time -o writes a file */
		} else
			goto opaque;	/* nohup takes no options */
	}
	if (i >= c->argc) {
		in->what = W_NONE;
		return;
	}
	in->what = W_RUN;
	in->k = i;
	in->end = c->argc;
	return;
opaque:
	in->what = W_OPAQUE;
}

static void
w_timeout(const struct shell_cmd *c, struct inner *in)
{
	size_t i = 1, j;
	const char *t;

	for (; i < c->argc; i++) {
		t = c->argv[i].text;
		if (dyn(&c->argv[i]))
			goto opaque;
		if (strcmp(t, "--") == 0) {
			i++;
			break;
		}
		if (t[0] != '-' || t[1] == '\0')
			break;
		if (t[1] == '-') {
			if (strcmp(t, "--foreground") == 0 ||
			    strcmp(t, "--preserve-status") == 0 ||
			    strcmp(t, "--verbose") == 0)
				continue;
			if (strncmp(t, "--kill-after", 12) == 0 ||
			    strncmp(t, "--signal", 8) == 0) {
				if ((j = long_arg(c, i)) == 0)
					goto opaque;
				i = j - 1;
				continue;
			}
			goto opaque;
		}
		for (j = 1; t[j] != '\0'; j++) {
			if (t[j] == 'v' || t[j] == 'f' || t[j] == 'p')
				continue;
			if (t[j] == 'k' || t[j] == 's') {
				if (t[j + 1] == '\0' && (++i >= c->argc ||
				    dyn(&c->argv[i])))
					goto opaque;
				break;
			}
			goto opaque;
		}
	}
	/* The duration, then the command. */
	if (i >= c->argc || dyn(&c->argv[i]) || i + 1 >= c->argc) {
		in->what = i >= c->argc || i + 1 >= c->argc ? W_NONE : W_OPAQUE;
		return;
	}
	in->what = W_RUN;
	in->k = i + 1;
	in->end = c->argc;
	return;
opaque:
	in->what = W_OPAQUE;
}

static void
w_xargs(const struct shell_cmd *c, struct inner *in)
{
	static const char *const req[] = { "--arg-file", "--delimiter",
		"--max-lines", "--max-args", "--max-procs", "--max-chars",
		"--process-slot-var", NULL };
	static const char *const flags[] = { "--null", "--open-tty",
		"--interactive", "--no-run-if-empty", "--verbose", "--exit",
		"--show-limits", "--help", "--version", NULL };
	size_t i = 1, j, n, m;
	const char *t;
	int found;

	in->open = 1;
	for (; i < c->argc; i++) {
		t = c->argv[i].text;
		if (dyn(&c->argv[i]))
			goto opaque;
		if (strcmp(t, "--") == 0) {
			i++;
			break;
		}
		if (t[0] != '-' || t[1] == '\0')
			break;
		if (t[1] == '-') {
			found = 0;
			for (n = 0; flags[n] != NULL && !found; n++)
				found = strcmp(t, flags[n]) == 0;
			for (n = 0; req[n] != NULL && !found; n++) {
				m = strlen(req[n]);
				if (strncmp(t, req[n], m) == 0 &&
				    (t[m] == '\0' || t[m] == '=')) {
					if ((j = long_arg(c, i)) == 0 ||
					    dyn(&c->argv[j - 1]))
						goto opaque;
					i = j - 1;
					found = 1;
				}
			}
			if (!found && (strcmp(t, "--eof") == 0 ||
			    strncmp(t, "--eof=", 6) == 0))
				found = 1;
			if (!found && (strcmp(t, "--replace") == 0 ||
			    strncmp(t, "--replace=", 10) == 0)) {
				in->repl = t[9] == '=' ? t + 10 : "{}";
				in->open = 0;
				found = 1;
			}
			if (!found)
				goto opaque;
			continue;
		}
		for (j = 1; t[j] != '\0'; j++) {
			if (strchr("0oprtx", t[j]) != NULL)
				continue;
			if (strchr("adEILnPs", t[j]) != NULL) {
				const char *arg = t + j + 1;

				if (*arg == '\0') {
					if (++i >= c->argc || dyn(&c->argv[i]))
						goto opaque;
					arg = c->argv[i].text;
				}
				if (t[j] == 'I') {
					in->repl = arg;
					in->open = 0;
				}
				break;
			}
			if (strchr("eil", t[j]) != NULL) {
				if (t[j] == 'i') {
					in->repl = t[j + 1] != '\0' ?
					    t + j + 1 : "{}";
					in->open = 0;
				}
				break;
			}
			goto opaque;
		}
	}
	if (in->repl != NULL && in->repl[0] == '\0')
		goto opaque;
	in->what = W_RUN;
	in->k = i;
	in->end = c->argc;
	in->echo = i >= c->argc;
	return;
opaque:
	in->what = W_OPAQUE;
}

static void
w_shell(const struct shell_cmd *c, struct inner *in)
{
	size_t i = 1, j, extra;
	const char *t;
	int cmode = 0;

	for (; i < c->argc; i++) {
		t = c->argv[i].text;
		if (dyn(&c->argv[i]))
			goto opaque;
		if (strcmp(t, "--") == 0 || strcmp(t, "-") == 0) {
			i++;
			break;
		}
		if ((t[0] != '-' && t[0] != '+') || t[1] == '\0')
			break;
		if (t[0] == '-' && t[1] == '-') {
			if (strcmp(t, "--rcfile") == 0 ||
			    strcmp(t, "--init-file") == 0) {
				if (++i >= c->argc || dyn(&c->argv[i]))
					goto opaque;
				continue;
			}
			if (strcmp(t, "--login") == 0 ||
			    strcmp(t, "--norc") == 0 ||
			    strcmp(t, "--noprofile") == 0 ||
			    strcmp(t, "--posix") == 0 ||
			    strcmp(t, "--restricted") == 0 ||
			    strcmp(t, "--verbose") == 0 ||
			    strcmp(t, "--noediting") == 0)
				continue;
			goto opaque;
		}
		for (extra = 0, j = 1; t[j] != '\0'; j++) {
			if (t[j] == 'c' && t[0] == '-')
				cmode = 1;
			else if (t[j] == 'o' || t[j] == 'O')
				extra++;
			else if (!isalpha((unsigned char)t[j]) || t[j] == 'c')
				goto opaque;
		}
		for (; extra > 0; extra--)
			if (++i >= c->argc || dyn(&c->argv[i]))
				goto opaque;
	}
	if (!cmode || i >= c->argc) {
		/* A script file or stdin: the shell is the program. */
		in->what = W_NONE;
		return;
	}
	if (c->argv[i].flags & SHELL_W_DYNAMIC)
		goto opaque;
	in->what = W_SCRIPT;
	in->k = i;
	in->end = i + 1;
	return;
opaque:
	in->what = W_OPAQUE;
}

static void
w_eval(const struct shell_cmd *c, struct inner *in)
{
	size_t i = 1, j;

	if (i < c->argc && is(&c->argv[i], "--"))
		i++;
	if (i >= c->argc) {
		in->what = W_NONE;
		return;
	}
	for (j = i; j < c->argc; j++)
		if (c->argv[j].flags & SHELL_W_DYNAMIC) {
			in->what = W_OPAQUE;
			return;
		}
	in->what = W_EVAL;
	in->k = i;
	in->end = c->argc;
}

/* The wrapper a program word names, or NULL: bare names and absolute
 * paths in the system directories only (./env is not env), builtins and
 * keywords bare only. */
static const char *
wrapper_name(const struct shell_cmd *c)
{
	static const char *const ext[] = { "env", "nice", "nohup", "setsid",
		"stdbuf", "timeout", "xargs", "find", "sh", "bash", "dash",
		"zsh", "ksh", "mksh", "ash", "time", NULL };
	static const char *const builtin[] = { "command", "exec", "builtin",
		"eval", NULL };
	static const char *const dirs[] = { "/bin/", "/usr/bin/",
		"/usr/local/bin/", "/sbin/", "/usr/sbin/", NULL };
	const char *t, *base;
	size_t i, n;

	if (c->argc == 0 || c->argv[0].flags != 0 ||
	    (c->flags & (SHELL_C_FUNCTION_CALL | SHELL_C_TEST)))
		return NULL;
	t = c->argv[0].text;
	base = t;
	if (strchr(t, '/') != NULL) {
		for (i = 0; dirs[i] != NULL; i++) {
			n = strlen(dirs[i]);
			if (strncmp(t, dirs[i], n) == 0 &&
			    strchr(t + n, '/') == NULL) {
				base = t + n;
				break;
			}
		}
		if (dirs[i] == NULL)
			return NULL;
	}
	for (i = 0; ext[i] != NULL; i++)
		if (strcmp(base, ext[i]) == 0)
			return ext[i];
	for (i = 0; builtin[i] != NULL && base == t; i++)
		if (strcmp(base, builtin[i]) == 0)
			return builtin[i];
	return NULL;
}

/* Copies the wrapper's assignments and redirects onto an inner command:
 * its environment and descriptors are the inner command's. */
static int
inherit(const struct shell_cmd *p, size_t pi, struct shell_cmd *c)
{
	struct shell_word *as;
	struct shell_redir *rs;
	size_t i;

	if (p->nassigns > 0) {
		if ((as = calloc(p->nassigns + c->nassigns, sizeof(*as))) ==
		    NULL)
			return WARD_ENOMEM;
		for (i = 0; i < p->nassigns; i++)
			if (word_copy(&as[i], &p->assigns[i]) != 0) {
				while (i-- > 0)
					word_free(&as[i]);
				free(as);
				return WARD_ENOMEM;
			}
		if (c->nassigns > 0)
			memcpy(as + p->nassigns, c->assigns,
			    c->nassigns * sizeof(*as));
		free(c->assigns);
		c->assigns = as;
		c->nassigns += p->nassigns;
	}
	if (p->nredirs > 0) {
		if ((rs = calloc(p->nredirs + c->nredirs, sizeof(*rs))) == NULL)
			return WARD_ENOMEM;
		for (i = 0; i < p->nredirs; i++) {
			rs[i] = p->redirs[i];
			if (word_copy(&rs[i].target,
			    &p->redirs[i].target) != 0) {
				while (i-- > 0)
					word_free(&rs[i].target);
				free(rs);
				return WARD_ENOMEM;
			}
		}
		if (c->nredirs > 0)
			memcpy(rs + p->nredirs, c->redirs,
			    c->nredirs * sizeof(*rs));
		free(c->redirs);
		c->redirs = rs;
		c->nredirs += p->nredirs;
	}
	c->ctx |= p->ctx | SHELL_CTX_WRAPPED;
	c->depth += p->depth;
	c->wraps = p->wraps + 1;
	c->parent = pi;
	c->start = p->start;
	c->end = p->end;
	return 0;
}

/* Appends argv[k, end) of l->cmds[pi] as a command it runs. */
static int
add_inner(struct shell_list *l, size_t pi, const struct inner *in)
{
	struct shell_cmd c;
	const struct shell_cmd *p = &l->cmds[pi];
	size_t i, n;
	int rc = WARD_ENOMEM;

	memset(&c, 0, sizeof(c));
	n = in->echo ? 1 : in->end - in->k;
	if ((c.argv = calloc(n, sizeof(*c.argv))) == NULL)
		goto out;
	if (in->echo) {
		if (word_set(&c.argv[0], "echo", 4, 0) != 0)
			goto out;
		c.argc = 1;
	}
	for (i = 0; !in->echo && i < n; i++) {
		if (word_copy(&c.argv[i], &p->argv[in->k + i]) != 0)
			goto out;
		c.argc++;
		if (in->repl != NULL &&
		    strstr(c.argv[i].text, in->repl) != NULL)
			c.argv[i].flags |= SHELL_W_RUNTIME;
	}
	if (in->ae > in->ab) {
		if ((c.assigns = calloc(in->ae - in->ab, sizeof(*c.assigns))) ==
		    NULL)
			goto out;
		for (i = in->ab; i < in->ae; i++) {
			if (word_copy(&c.assigns[c.nassigns], &p->argv[i]) != 0)
				goto out;
			c.nassigns++;
		}
	}
	if (in->open)
		c.flags |= SHELL_C_OPEN_ARGS;
	if ((rc = inherit(p, pi, &c)) != 0)
		goto out;
	return list_add(l, &c);
out:
	cmd_free(&c);
	return rc;
}

/* find: each -exec/-execdir/-ok/-okdir ... ; or ... {} + runs a command. */
static int
w_find(struct shell_list *l, size_t pi)
{
	struct inner in;
	const struct shell_cmd *p = &l->cmds[pi];
	size_t i, m, argc = p->argc;
	int rc, opaque = 0;

	for (i = 1; i < argc; i++)
		if (dyn(&l->cmds[pi].argv[i]))
			opaque = 1;	/* could spell -exec at run time */
	for (i = 1; i < argc; i++) {
		p = &l->cmds[pi];
		if (!is(&p->argv[i], "-exec") && !is(&p->argv[i], "-execdir") &&
		    !is(&p->argv[i], "-ok") && !is(&p->argv[i], "-okdir"))
			continue;
		memset(&in, 0, sizeof(in));
		for (m = i + 1; m < argc; m++) {
			if (is(&p->argv[m], ";"))
				break;
			if (is(&p->argv[m], "+") && m > i + 1 &&
			    is(&p->argv[m - 1], "{}")) {
				in.open = 1;
				break;
			}
		}
		if (m >= argc || m == i + 1) {
			opaque = 1;
			break;
		}
		in.what = W_RUN;
		in.k = i + 1;
		in.end = in.open ? m - 1 : m;
		in.repl = "{}";
		if (in.end == in.k) {
			opaque = 1;
			break;
		}
		if ((rc = add_inner(l, pi, &in)) != 0)
			return rc;
		i = m;
	}
	if (opaque)
		l->cmds[pi].flags |= SHELL_C_OPAQUE;
	return 0;
}

/* Parses shell text a wrapper runs and appends its commands as the
 * wrapper's. */
static int
add_script(struct shell_list *l, size_t pi, const char *text, size_t len,
    struct buf *err)
{
	struct shell_list sub;
	struct shell_cmd *p;
	char pre[96];
	size_t i;
	int rc;

	memset(&sub, 0, sizeof(sub));
	p = &l->cmds[pi];
	snprintf(pre, sizeof(pre), "in '%s' at byte %zu, ", p->argv[0].text,
	    p->start);
	if (l->flags & SHELL_L_UNPARSEABLE)
		sub.flags |= SHELL_L_UNPARSEABLE;	/* one reason only */
	rc = parse_text(text, len, (int)p->wraps + 1, 0, 0, 1, p->start,
	    p->end, pre, &sub, err);
	l->flags |= sub.flags;
	for (i = 0; i < sub.ncmds && rc == 0; i++) {
		if ((rc = inherit(&l->cmds[pi], pi, &sub.cmds[i])) != 0)
			break;
		if ((rc = list_add(l, &sub.cmds[i])) != 0)
			break;
	}
	for (; i < sub.ncmds; i++)
		cmd_free(&sub.cmds[i]);
	free(sub.cmds);
	return rc;
}

static int
unwrap_one(struct shell_list *l, size_t pi, struct buf *err)
{
	struct inner in;
	struct shell_cmd *p = &l->cmds[pi];
	const char *name = wrapper_name(p);
	struct buf text;
	size_t i;
	int rc;

	if (name == NULL)
		return 0;
	if (p->wraps >= SHELL_WRAP_MAX) {
		p->flags |= SHELL_C_OPAQUE;
		return 0;
	}
	memset(&in, 0, sizeof(in));
	if (strcmp(name, "find") == 0)
		return w_find(l, pi);
	if (strcmp(name, "env") == 0)
		w_env(p, &in);
	else if (strcmp(name, "timeout") == 0)
		w_timeout(p, &in);
	else if (strcmp(name, "xargs") == 0)
		w_xargs(p, &in);
	else if (strcmp(name, "eval") == 0)
		w_eval(p, &in);
	else if (strcmp(name, "sh") == 0 || strcmp(name, "bash") == 0 ||
	    strcmp(name, "dash") == 0 || strcmp(name, "zsh") == 0 ||
	    strcmp(name, "ksh") == 0 || strcmp(name, "mksh") == 0 ||
	    strcmp(name, "ash") == 0)
		w_shell(p, &in);
	else
		w_simple(p, name, &in);
	switch (in.what) {
	case W_NONE:
		return 0;
	case W_OPAQUE:
		p->flags |= SHELL_C_OPAQUE;
		return 0;
	case W_RUN:
		p->flags |= SHELL_C_WRAPPER;
		return add_inner(l, pi, &in);
	case W_SCRIPT:
		if (p->wraps + 1 > SHELL_REPARSE_MAX) {
			p->flags |= SHELL_C_OPAQUE;
			return 0;
		}
		p->flags |= SHELL_C_WRAPPER;
		buf_init(&text, 0);
		if ((rc = buf_add(&text, p->argv[in.k].text,
		    p->argv[in.k].len)) == 0)
			rc = add_script(l, pi, text.data, text.len, err);
		buf_free(&text);
		return rc;
	case W_EVAL:
		if (p->wraps + 1 > SHELL_REPARSE_MAX) {
			p->flags |= SHELL_C_OPAQUE;
			return 0;
		}
		p->flags |= SHELL_C_WRAPPER;
		buf_init(&text, 0);
		for (rc = 0, i = in.k; i < in.end && rc == 0; i++) {
			if (i > in.k)
				rc = buf_puts(&text, " ");
			if (rc == 0)
				rc = buf_add(&text, l->cmds[pi].argv[i].text,
				    l->cmds[pi].argv[i].len);
		}
		if (rc == 0)
			rc = add_script(l, pi, text.data, text.len, err);
		buf_free(&text);
		return rc;
	}
	return 0;
}

int
shell_unwrap(struct shell_list *l, struct buf *err)
{
	int rc;

	if (l == NULL)
		return WARD_EINVAL;
	if (pthread_once(&shell_once, shell_init) != 0 || !shell_ready)
		return WARD_EUNAVAIL;
	/* Commands appended here are examined too: wrappers nest. */
	for (; l->nunwrapped < l->ncmds; l->nunwrapped++)
		if ((rc = unwrap_one(l, l->nunwrapped, err)) != 0)
			return rc;
	return 0;
}
