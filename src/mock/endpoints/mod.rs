//! One file per endpoint (the routes are in `router.rs`). Endpoints share the helpers of the
//! parent module — pages (`html`), JSON answers (`json`), redirects (`redirect`), parameters
//! (`form`), client authentication, scopes — and never import each other.

pub(crate) mod admin;
pub(crate) mod attacker_keys;
pub(crate) mod authorize;
pub(crate) mod device;
pub(crate) mod device_authorization;
pub(crate) mod discovery;
pub(crate) mod introspect;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod revoke;
pub(crate) mod token;
pub(crate) mod userinfo;
