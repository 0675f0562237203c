//! [`RequestBuilder`]: a request made the way reqwest users write them, then sent.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
#[cfg(feature = "serde")]
use http::header::CONTENT_TYPE;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Uri, Version};

use crate::call_future::CallFuture;
use crate::uri_authority::HostPort;
use crate::{Call, CallTimeout, Client, Error, ErrorKind, RequestBody, Response};

/// What can name the URL of a request: `&str`, `String`, `http::Uri` and `url::Url`.
///
/// Strings are parsed as URLs (WHATWG rules: host names are lower-cased and IDNA-encoded,
/// paths normalised); a URL that does not parse, or whose scheme is not `http` or `https`, is
/// an [`ErrorKind::Builder`] error when the request is sent.
pub trait IntoUrl {
    /// The URL as an `http::Uri`.
    fn into_uri(self) -> Result<Uri, Error>;
}

fn bad_url(url: &str, why: impl fmt::Display) -> Error {
    Error::new(ErrorKind::Builder, format!("invalid URL: {why}")).with_url(url)
}

impl IntoUrl for url::Url {
    fn into_uri(self) -> Result<Uri, Error> {
        match self.scheme() {
            "http" | "https" => {}
            other => {
                let why = format!("the scheme {other:?} is not http or https");
                return Err(bad_url(self.as_str(), why));
            }
        }
        if self.host_str().is_none_or(str::is_empty) {
            return Err(bad_url(self.as_str(), "no host"));
        }
        // The fragment never goes to the server.
        let mut url = self;
        if url.fragment().is_some() {
            url.set_fragment(None);
        }
        // The serialization becomes the URI's storage: checked, not copied.
        let text: String = url.into();
        match Uri::from_maybe_shared(bytes::Bytes::from(text)) {
            Ok(uri) => Ok(uri),
            Err(error) => Err(Error::new(
                ErrorKind::Builder,
                format!("invalid URL: {error}"),
            )),
        }
    }
}

impl IntoUrl for &str {
    fn into_uri(self) -> Result<Uri, Error> {
        match url::Url::parse(self) {
            Ok(url) => url.into_uri(),
            Err(error) => Err(bad_url(self, error)),
        }
    }
}

impl IntoUrl for String {
    fn into_uri(self) -> Result<Uri, Error> {
        self.as_str().into_uri()
    }
}

impl IntoUrl for &String {
    fn into_uri(self) -> Result<Uri, Error> {
        self.as_str().into_uri()
    }
}

impl IntoUrl for Uri {
    fn into_uri(self) -> Result<Uri, Error> {
        match self.scheme_str() {
            Some("http" | "https") if HostPort::uri_has_host(&self) => Ok(self),
            _ => {
                let text = self.to_string();
                text.as_str().into_uri()
            }
        }
    }
}

/// A request under construction; [`send`](Self::send) it, or turn it into a [`Call`].
///
/// Invalid input (a URL that does not parse, a header name or value that is not valid, such as
/// one with CR or LF) is kept as an [`ErrorKind::Builder`] error and returned by `send`.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), oktower::Error> {
/// use std::time::Duration;
///
/// let client = oktower::Client::new()?;
/// let response = client
///     .get("https://api.example.com/search")
///     .query(&[("q", "tower layers"), ("page", "2")])
///     .header("accept", "application/json")
///     .bearer_auth("s3cret")
///     .timeout(Duration::from_secs(5))
///     .send()
///     .await?
///     .error_for_status()?;
/// let text = response.text().await?;
/// # let _ = text;
/// # Ok(())
/// # }
/// ```
pub struct RequestBuilder {
    client: Client,
    request: Result<Request<RequestBody>, Error>,
}

impl RequestBuilder {
    pub(crate) fn new(client: Client, method: Method, uri: Result<Uri, Error>) -> Self {
        let request = uri.map(|uri| {
            let mut request = Request::new(RequestBody::empty());
            *request.method_mut() = method;
            *request.uri_mut() = uri;
            request
        });
        RequestBuilder { client, request }
    }

    fn with(mut self, change: impl FnOnce(&mut Request<RequestBody>) -> Result<(), Error>) -> Self {
        if let Ok(request) = &mut self.request
            && let Err(error) = change(request)
        {
            let url = request.uri().to_string();
            self.request = Err(error.with_url(url));
        }
        self
    }

    /// Adds a header (after any of the same name).
    pub fn header<K, V>(self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: fmt::Display,
    {
        self.with(|request| {
            let name = name.try_into().map_err(|error| {
                Error::new(ErrorKind::Builder, format!("invalid header name: {error}"))
            })?;
            let value = value.try_into().map_err(|error| {
                let message = format!("invalid value for header {name}: {error}");
                Error::new(ErrorKind::Builder, message)
            })?;
            request.headers_mut().append(name, value);
            Ok(())
        })
    }

    /// Adds every header of `headers`, replacing existing values of the same names.
    pub fn headers(self, headers: HeaderMap) -> Self {
        self.with(|request| {
            let mut last = None;
            for (name, value) in headers {
                let name = match name {
                    Some(name) => {
                        request.headers_mut().remove(&name);
                        last = Some(name.clone());
                        name
                    }
                    None => match &last {
                        Some(name) => name.clone(),
                        None => continue,
                    },
                };
                request.headers_mut().append(name, value);
            }
            Ok(())
        })
    }

    /// Appends `pairs` to the URL's query, form-encoded.
    pub fn query<K, V>(self, pairs: &[(K, V)]) -> Self
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.with(|request| {
            let uri = request.uri();
            let mut url = url::Url::parse(&uri.to_string())
                .map_err(|error| Error::new(ErrorKind::Builder, format!("invalid URL: {error}")))?;
            {
                let mut query = url.query_pairs_mut();
                for (key, value) in pairs {
                    query.append_pair(key.as_ref(), value.as_ref());
                }
            }
            *request.uri_mut() = url.into_uri()?;
            Ok(())
        })
    }

    /// The request body: bytes and strings are kept in memory (sent again on redirects and
    /// retries); a [`RequestBody::streaming`] body is sent once.
    pub fn body(self, body: impl Into<RequestBody>) -> Self {
        let body = body.into();
        self.with(|request| {
            *request.body_mut() = body;
            Ok(())
        })
    }

    /// The body as JSON, with `Content-Type: application/json` unless one is set.
    #[cfg(feature = "serde")]
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Self {
        self.with(|request| {
            let bytes = serde_json::to_vec(value).map_err(|error| {
                Error::new(ErrorKind::Builder, "the JSON body could not be written")
                    .with_source(error)
            })?;
            if !request.headers().contains_key(CONTENT_TYPE) {
                let json = HeaderValue::from_static("application/json");
                request.headers_mut().insert(CONTENT_TYPE, json);
            }
            *request.body_mut() = RequestBody::full(bytes);
            Ok(())
        })
    }

    /// The body as a form (`application/x-www-form-urlencoded`).
    #[cfg(feature = "serde")]
    pub fn form<T: serde::Serialize + ?Sized>(self, value: &T) -> Self {
        self.with(|request| {
            let text = serde_urlencoded::to_string(value).map_err(|error| {
                Error::new(ErrorKind::Builder, "the form body could not be written")
                    .with_source(error)
            })?;
            let form = HeaderValue::from_static("application/x-www-form-urlencoded");
            request.headers_mut().insert(CONTENT_TYPE, form);
            *request.body_mut() = RequestBody::full(text);
            Ok(())
        })
    }

    /// `Authorization: Bearer <token>` (marked sensitive).
    pub fn bearer_auth(self, token: impl fmt::Display) -> Self {
        self.authorization(format!("Bearer {token}"))
    }

    /// `Authorization: Basic ...` for `username` and `password` (marked sensitive).
    pub fn basic_auth(
        self,
        username: impl fmt::Display,
        password: Option<impl fmt::Display>,
    ) -> Self {
        let credentials = match password {
            Some(password) => format!("{username}:{password}"),
            None => format!("{username}:"),
        };
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        self.authorization(format!("Basic {encoded}"))
    }

    fn authorization(self, value: String) -> Self {
        self.with(|request| {
            let mut value = HeaderValue::try_from(value).map_err(|error| {
                Error::new(
                    ErrorKind::Builder,
                    format!("invalid Authorization value: {error}"),
                )
            })?;
            value.set_sensitive(true);
            request.headers_mut().insert(AUTHORIZATION, value);
            Ok(())
        })
    }

    /// A call timeout for this request alone (wins over the client's).
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with(|request| {
            request.extensions_mut().insert(CallTimeout(timeout));
            Ok(())
        })
    }

    /// The HTTP version to ask for (the connection decides what is spoken).
    pub fn version(self, version: Version) -> Self {
        self.with(|request| {
            *request.version_mut() = version;
            Ok(())
        })
    }

    /// Adds `value` to the request's extensions, for layers to read.
    pub fn extension<T: Clone + Send + Sync + 'static>(self, value: T) -> Self {
        self.with(|request| {
            request.extensions_mut().insert(value);
            Ok(())
        })
    }

    /// The request, or the first error made while building it.
    pub fn build(self) -> Result<Request<RequestBody>, Error> {
        self.request
    }

    /// The request as a [`Call`] of the client.
    pub fn new_call(self) -> Result<Call, Error> {
        let request = self.request?;
        Ok(self.client.new_call(request))
    }

    /// Sends the request and waits for the response head.
    pub fn send(self) -> impl Future<Output = Result<Response, Error>> + Send + 'static + use<> {
        let client = self.client;
        // Every URI this builder holds went through `IntoUrl`, which checks it.
        CallFuture::new(self.request.map(|request| client.send_checked(request)))
    }
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.request {
            Ok(request) => f
                .debug_struct("RequestBuilder")
                .field("method", request.method())
                .field("uri", request.uri())
                .finish_non_exhaustive(),
            Err(error) => f.debug_tuple("RequestBuilder").field(error).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_bad_ones_are_builder_errors() {
        let uri = "HTTPS://Example.COM:443/a/../b?x=1#frag"
            .into_uri()
            .unwrap();
        assert_eq!(uri, "https://example.com/b?x=1");
        for bad in [
            "ftp://example.com/",
            "not a url",
            "http://",
            "mailto:a@b.test",
            "",
        ] {
            let error = bad.into_uri().unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Builder, "{bad}");
        }
        let uri: Uri = "/relative".parse().unwrap();
        assert!(uri.into_uri().is_err());
    }
}
