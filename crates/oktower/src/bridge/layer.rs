//! `BridgeLayer`: the bridge's settings, shared by every service it wraps.

use std::fmt;
use std::sync::Arc;

use http::HeaderValue;
use tower_layer::Layer;

use super::request_headers::DEFAULT_USER_AGENT;
use super::{Bridge, CookieJar, DEFAULT_MAX_DECOMPRESSED_SIZE};

/// What a [`Bridge`] adds and decodes; shared, never copied per request.
#[derive(Clone)]
pub(super) struct BridgeConfig {
    pub(super) user_agent: HeaderValue,
    pub(super) cookie_jar: Option<Arc<dyn CookieJar>>,
    pub(super) max_decompressed_size: Option<u64>,
    /// Every request goes over HTTP/2 (the client speaks only HTTP/2 with prior knowledge):
    /// the bridge treats them as HTTP/2 requests, adding no `Connection` header (HTTP/2 forbids
    /// it) and no `Host` (`:authority` says it), which the call server would take off again.
    pub(super) http2_only: bool,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            user_agent: DEFAULT_USER_AGENT,
            cookie_jar: None,
            max_decompressed_size: Some(DEFAULT_MAX_DECOMPRESSED_SIZE),
            http2_only: false,
        }
    }
}

impl fmt::Debug for BridgeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BridgeConfig")
            .field("user_agent", &self.user_agent)
            .field("cookie_jar", &self.cookie_jar.is_some())
            .field("max_decompressed_size", &self.max_decompressed_size)
            .field("http2_only", &self.http2_only)
            .finish()
    }
}

/// Wraps a service in a [`Bridge`]: OkHttp's `BridgeInterceptor` as a tower layer. See the
/// [module documentation](super) for what it adds to requests and does to responses.
///
/// Cheap to clone; the settings are shared by every service it wraps.
///
/// ```
/// use std::sync::Arc;
/// use http::HeaderValue;
/// use oktower::{BridgeLayer, MemoryCookieJar};
///
/// let jar = Arc::new(MemoryCookieJar::new());
/// let layer = BridgeLayer::new()
///     .cookie_jar(jar.clone())
///     .user_agent(HeaderValue::from_static("my-app/1.0"))
///     .max_decompressed_size(Some(16 * 1024 * 1024));
/// # let _ = layer;
/// ```
#[derive(Clone, Debug, Default)]
pub struct BridgeLayer {
    config: Arc<BridgeConfig>,
}

impl BridgeLayer {
    /// A bridge with the defaults: `User-Agent: oktower/<version>`, no cookie jar, and
    /// decompressed bodies limited to [`DEFAULT_MAX_DECOMPRESSED_SIZE`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends the jar's cookies with every request and gives it the `Set-Cookie` headers of
    /// every response. Without a jar (the default) the bridge handles no cookies, as with
    /// [`NoCookies`](super::NoCookies), at no cost per request.
    pub fn cookie_jar(mut self, jar: Arc<dyn CookieJar>) -> Self {
        Arc::make_mut(&mut self.config).cookie_jar = Some(jar);
        self
    }

    /// The `User-Agent` for requests that have none.
    pub fn user_agent(mut self, user_agent: HeaderValue) -> Self {
        Arc::make_mut(&mut self.config).user_agent = user_agent;
        self
    }

    /// The most bytes a body the bridge decompresses may decode to, or `None` for no limit.
    /// A body that decodes to more fails with an [`ErrorKind::TooLarge`](crate::ErrorKind)
    /// error naming the URL and the limit. Default: [`DEFAULT_MAX_DECOMPRESSED_SIZE`].
    pub fn max_decompressed_size(mut self, limit: Option<u64>) -> Self {
        Arc::make_mut(&mut self.config).max_decompressed_size = limit;
        self
    }

    /// Whether every request goes over HTTP/2 (a client that speaks only HTTP/2 with prior
    /// knowledge): the requests get no `Connection: keep-alive` and no `Host`.
    pub(crate) fn http2_only(mut self, http2_only: bool) -> Self {
        if self.config.http2_only != http2_only {
            Arc::make_mut(&mut self.config).http2_only = http2_only;
        }
        self
    }
}

impl<S> Layer<S> for BridgeLayer {
    type Service = Bridge<S>;

    fn layer(&self, inner: S) -> Bridge<S> {
        Bridge::with_config(inner, Arc::clone(&self.config))
    }
}
