//! `FollowUpLayer`: the settings of the follow-up layer, and the layer itself.

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use super::decision::Policy;
use crate::{Authenticator, FollowUp, NoAuthenticator, NoProxyAuth, ProxyAuthenticator};

/// Wraps a service in [`FollowUp`]: OkHttp's `RetryAndFollowUpInterceptor` as a tower layer.
///
/// Settings are by-value builder methods with OkHttp's defaults: retry on connection failure,
/// follow redirects, follow redirects between `http` and `https`, no authenticators, and
/// `Authorization` dropped on every redirect to another origin. At most
/// [`MAX_FOLLOW_UPS`](super::MAX_FOLLOW_UPS) follow-ups per call, as in OkHttp.
///
/// ```
/// use oktower::{BasicAuthenticator, FollowUpLayer};
///
/// let layer = FollowUpLayer::new()
///     .follow_ssl_redirects(false)
///     .keep_authorization_on_https_upgrade(true)
///     .authenticator(BasicAuthenticator::new("user", "pass"));
/// let stack = tower::ServiceBuilder::new().layer(layer);
/// # let _ = stack;
/// ```
///
/// Every setting at once, with OkHttp's defaults spelled out:
///
/// ```
/// use oktower::{FollowUpLayer, NoAuthenticator, NoProxyAuth};
///
/// let layer = FollowUpLayer::new()
///     .retry_on_connection_failure(true)
///     .follow_redirects(true)
///     .follow_ssl_redirects(true)
///     .keep_authorization_on_https_upgrade(false)
///     .authenticator(NoAuthenticator)
///     .proxy_authenticator(NoProxyAuth);
/// assert!(format!("{layer:?}").contains("follow_redirects: true"));
/// ```
#[derive(Clone)]
pub struct FollowUpLayer {
    settings: Arc<Settings>,
}

/// What every call of a [`FollowUp`] service shares.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) policy: Policy,
    pub(crate) authenticator: Arc<dyn Authenticator>,
    pub(crate) proxy_authenticator: Arc<dyn ProxyAuthenticator>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            policy: Policy::default(),
            authenticator: Arc::new(NoAuthenticator),
            proxy_authenticator: Arc::new(NoProxyAuth),
        }
    }
}

impl FollowUpLayer {
    /// A layer with OkHttp's defaults.
    pub fn new() -> Self {
        FollowUpLayer {
            settings: Arc::new(Settings::default()),
        }
    }

    /// Whether to send a request again after a connection failure that allows it (a pooled
    /// connection found dead, a failure before the request was sent) and after a `408`.
    /// Default `true`.
    pub fn retry_on_connection_failure(mut self, retry: bool) -> Self {
        Arc::make_mut(&mut self.settings)
            .policy
            .retry_on_connection_failure = retry;
        self
    }

    /// Whether to follow redirects (300, 301, 302, 303, 307, 308). Default `true`; when off,
    /// the redirect is the call's response.
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        Arc::make_mut(&mut self.settings).policy.follow_redirects = follow;
        self
    }

    /// Whether to follow redirects from `http` to `https` and back. Default `true`; when off,
    /// such a redirect is the call's response.
    pub fn follow_ssl_redirects(mut self, follow: bool) -> Self {
        Arc::make_mut(&mut self.settings)
            .policy
            .follow_ssl_redirects = follow;
        self
    }

    /// Whether `Authorization` stays on a redirect from `http` to `https` on the same host
    /// (any ports). Default `false`: it is removed on every redirect to another origin.
    pub fn keep_authorization_on_https_upgrade(mut self, keep: bool) -> Self {
        Arc::make_mut(&mut self.settings)
            .policy
            .keep_authorization_on_https_upgrade = keep;
        self
    }

    /// Answers `401 Unauthorized`. Default [`NoAuthenticator`].
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        Arc::make_mut(&mut self.settings).authenticator = Arc::new(authenticator);
        self
    }

    /// Answers `407 Proxy Authentication Required` from an HTTP proxy that forwards plain
    /// `http:` requests (a tunnel's `407` is answered while connecting). Default
    /// [`NoProxyAuth`].
    pub fn proxy_authenticator(mut self, authenticator: impl ProxyAuthenticator) -> Self {
        Arc::make_mut(&mut self.settings).proxy_authenticator = Arc::new(authenticator);
        self
    }

    pub(crate) fn settings(&self) -> &Arc<Settings> {
        &self.settings
    }
}

impl Default for FollowUpLayer {
    fn default() -> Self {
        FollowUpLayer::new()
    }
}

impl<S> Layer<S> for FollowUpLayer {
    type Service = FollowUp<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FollowUp::with_settings(inner, self.settings.clone())
    }
}

impl fmt::Debug for FollowUpLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FollowUpLayer")
            .field("policy", &self.settings.policy)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_okhttps_and_builders_set_each_switch() {
        let policy = FollowUpLayer::new().settings().policy;
        assert!(policy.retry_on_connection_failure);
        assert!(policy.follow_redirects);
        assert!(policy.follow_ssl_redirects);
        assert!(!policy.keep_authorization_on_https_upgrade);

        let shared = FollowUpLayer::default();
        let changed = shared
            .clone()
            .retry_on_connection_failure(false)
            .follow_redirects(false)
            .follow_ssl_redirects(false)
            .keep_authorization_on_https_upgrade(true);
        let policy = changed.settings().policy;
        assert!(!policy.retry_on_connection_failure);
        assert!(!policy.follow_redirects);
        assert!(!policy.follow_ssl_redirects);
        assert!(policy.keep_authorization_on_https_upgrade);
        // The layer it was cloned from keeps its settings.
        assert!(shared.settings().policy.follow_redirects);
        assert!(format!("{changed:?}").contains("follow_redirects: false"));
    }
}
