//! One file per grant at the token endpoint. Each takes the authenticated client, whose
//! right to the grant is already checked, and returns the token response's JSON.

pub(crate) mod client_credentials;
pub(crate) mod code;
pub(crate) mod device;
pub(crate) mod exchange;
pub(crate) mod refresh;
