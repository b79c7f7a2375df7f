//! The hosted pages' HTML: escaping, one page template, and the response every page is sent
//! in (never cached, never framed, no scripts). Every page of the mock — sign-in, device
//! verification, error pages — is rendered here.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

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

/// A whole document: `title` is escaped here, `body` must already be safe HTML.
fn document(title: &str, body: &str) -> String {
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

/// A page: the document, never cached, never framed, no scripts. (No `form-action`:
/// browsers apply it to the redirects after a submission too, and signing in ends at the
/// client's redirect URI, on another origin.) `body` must already be safe HTML.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let mut response = (status, document(title, body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; \
             base-uri 'none'",
        ),
    );
    headers.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// A hidden form field, name and value escaped.
pub(crate) fn hidden_input(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

/// Undoes [`escape`].
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden fields of a page rendered here (as [`hidden_input`] writes them), in order:
/// what a headless client posts back with a form.
pub(crate) fn hidden_inputs(page: &str) -> Vec<(String, String)> {
    page.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|tag| {
            let (name, rest) = tag.split_once("\" value=\"")?;
            let (value, _) = rest.split_once('"')?;
            Some((unescape(name), unescape(value)))
        })
        .collect()
}

/// The message of a page rendered here: its error paragraph's text, else its title.
pub(crate) fn text_of(page: &str) -> String {
    let between = |start: &str, end: &str| {
        let from = page.find(start)? + start.len();
        let len = page[from..].find(end)?;
        Some(unescape(&page[from..from + len]))
    };
    between("role=\"alert\">", "</p>")
        .or_else(|| between("<title>", "</title>"))
        .unwrap_or_default()
}

/// An error paragraph, `message` escaped: `<p class="error" id="error" role="alert">`.
pub(crate) fn error_paragraph(message: &str) -> String {
    format!(
        "<p class=\"error\" id=\"error\" role=\"alert\">{}</p>",
        escape(message)
    )
}

/// An error page: `message` is escaped here.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
    page(status, "Sign-in error", &error_paragraph(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_fields_and_messages_read_back_as_written() {
        let page = format!(
            "{}{}{}",
            hidden_input("csrf", "a&b\"c"),
            hidden_input("redirect_uri", "https://a/cb?x=1&y=<2>"),
            error_paragraph("Incorrect <user> name.")
        );
        assert_eq!(
            hidden_inputs(&page),
            [
                ("csrf".to_owned(), "a&b\"c".to_owned()),
                (
                    "redirect_uri".to_owned(),
                    "https://a/cb?x=1&y=<2>".to_owned()
                )
            ]
        );
        assert_eq!(text_of(&page), "Incorrect <user> name.");
    }

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#x27;"
        );
    }
}
