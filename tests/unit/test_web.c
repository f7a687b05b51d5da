/*
 * HTML reduced to text for web_fetch: what a model reads of a page, with
 * scripts, styles and comments gone and entities decoded.
 */
#include <string.h>

#include "daemon/web.h"
#include "lib/buf.h"
#include "tap.h"

static const char *
text(const char *html)
{
	static struct buf b;

	buf_free(&b);
	buf_init(&b, 0);
	if (web_text(html, strlen(html), &b) != 0)
		return "(failed)";
	return b.data != NULL ? b.data : "";
}

int
main(void)
{
	is_str(text("<p>a</p><p>b</p>"), "a\nb\n", "blocks end lines");
	is_str(text("a   b\n\n c"), "a b c", "whitespace collapses");
	is_str(text("<script>var s = '<p>x</p>';</script>ok"), "ok",
	    "a script is skipped whole, tags in it too");
	is_str(text("<SCRIPT type=x>bad</SCRIPT >ok"), "ok",
	    "case does not matter");
	is_str(text("<style>p { x }</style>ok"), "ok", "styles are skipped");
	is_str(text("a<!-- <p>hidden</p> -->b"), "ab", "comments are skipped");
	is_str(text("&lt;b&gt; &amp; &quot;q&quot; &#233; &#x41; &bogus; &"),
	    "<b> & \"q\" \xc3\xa9 A &bogus; &", "entities are decoded, unknown "
	    "ones kept");
	is_str(text("&#0; &#x110000; &#xd800; &#7;"), "&#0; &#x110000; &#xd800; "
	    "&#7;", "invalid and control code points are not decoded");
	is_str(text("<script>never closed"), "", "an unclosed script hides "
	    "the rest");
	is_str(text("<a href='x'>link</a> and <b>bold</b>"), "link and bold",
	    "inline tags go, their text stays");
	is_str(text("<p"), "", "a tag cut short");
	return done_testing();
}
