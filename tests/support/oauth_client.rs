//! The `oauth2` crate's HTTP client, on reqwest, never following redirects: what a real OAuth
//! client library sends to the mock issuer.
#![allow(dead_code, unreachable_pub)]

/// Sends an `oauth2` request with reqwest and returns the response as `oauth2` expects it.
pub async fn http_client(
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let (parts, body) = request.into_parts();
    let response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut builder = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response.bytes().await?.to_vec();
    Ok(builder
        .body(body)
        .expect("a response built from a valid one"))
}
