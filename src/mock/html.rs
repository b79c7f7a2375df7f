//! HTML for the hosted pages: escaping, and one page template.

/// Escapes text for HTML element content and double-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Keeps only printable ASCII of a value echoed in an error description (RFC 6749 §5.2:
/// `error_description` is `%x20-21 / %x23-5B / %x5D-7E`), shortened.
pub(crate) fn sanitize(text: &str) -> String {
    text.chars()
        .filter(|c| matches!(*c as u32, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        .take(64)
        .collect()
}

/// A whole page: `title` is escaped here, `body` must already be safe HTML.
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:24rem;\
         margin:4rem auto;padding:0 1rem}}label,input,button{{display:block;width:100%;\
         margin:.4rem 0}}input,button{{padding:.5rem;font-size:1rem}}.error{{color:#b00}}\
         .note{{color:#666;font-size:.85rem}}</style></head><body><h1>{title}</h1>{body}\
         <p class=\"note\">tokengate mock issuer: test mode, not a real sign-in.</p></body></html>",
        title = escape(title),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#x27;"
        );
    }

    #[test]
    fn sanitize_drops_quotes_backslashes_and_control_characters() {
        assert_eq!(sanitize("a\"b\\c\nd"), "abcd");
    }
}
