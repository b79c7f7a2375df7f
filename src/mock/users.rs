//! Who a user is, by the pool's rules: the name they sign in with (matched case-insensitively
//! unless the pool is case-sensitive, or an email or phone number when the pool signs in with
//! username attributes), and the `username` their tokens carry (the `sub` UUID in pools with
//! username attributes, as Cognito's).

use serde::{Deserialize, Serialize};

use crate::mock::claims::user_sub;
use crate::mock::config::{MockConfig, User};

/// An attribute users sign in with instead of a user name (Cognito's `UsernameAttributes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsernameAttribute {
    /// `email`.
    Email,
    /// `phone_number`.
    PhoneNumber,
}

impl MockConfig {
    /// Whether two user names (or emails) are the same in this pool.
    pub(crate) fn same_name(&self, a: &str, b: &str) -> bool {
        if self.case_sensitive_usernames {
            a == b
        } else {
            a.to_lowercase() == b.to_lowercase()
        }
    }

    /// The user who signs in as `name`: by user name, or, in a pool with username
    /// attributes, by one of those attributes only (emails in any case, as Cognito's).
    pub(crate) fn sign_in_user(&self, name: &str) -> Option<&User> {
        if self.username_attributes.is_empty() {
            return self
                .users
                .iter()
                .find(|u| self.same_name(&u.username, name));
        }
        self.users.iter().find(|u| {
            self.username_attributes
                .iter()
                .any(|attribute| match attribute {
                    UsernameAttribute::Email => u
                        .email
                        .as_deref()
                        .is_some_and(|email| email.to_lowercase() == name.to_lowercase()),
                    UsernameAttribute::PhoneNumber => u.phone_number.as_deref() == Some(name),
                })
        })
    }

    /// What tokens carry as `username` (`cognito:username` in ID tokens): the user name, or
    /// the `sub` in a pool with username attributes.
    pub(crate) fn token_username(&self, user: &User) -> String {
        if self.username_attributes.is_empty() {
            user.username.clone()
        } else {
            user_sub(user)
        }
    }

    /// The user a token's `username` names (see [`token_username`](Self::token_username)).
    pub(crate) fn user_by_token_username(&self, username: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| self.token_username(u) == username)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> MockConfig {
        MockConfig {
            users: vec![
                User::new("Alice", "pw").email("Alice@Example.com"),
                User::new("bob", "pw").phone_number("+15555550100"),
            ],
            ..MockConfig::default()
        }
    }

    #[test]
    fn names_are_matched_in_any_case_unless_the_pool_is_case_sensitive() {
        let mut pool = pool();
        assert_eq!(
            pool.sign_in_user("aLiCe").map(|u| u.username.as_str()),
            Some("Alice")
        );
        pool.case_sensitive_usernames = true;
        assert!(pool.sign_in_user("alice").is_none());
        assert!(pool.sign_in_user("Alice").is_some());
    }

    #[test]
    fn with_username_attributes_only_the_attributes_sign_in_and_tokens_name_the_sub() {
        let mut pool = pool();
        pool.username_attributes = vec![UsernameAttribute::Email, UsernameAttribute::PhoneNumber];
        assert!(pool.sign_in_user("Alice").is_none());
        let alice = pool.sign_in_user("alice@example.COM").expect("by email");
        assert_eq!(pool.token_username(alice), user_sub(alice));
        let bob = pool.sign_in_user("+15555550100").expect("by phone");
        assert_eq!(
            pool.user_by_token_username(&user_sub(bob))
                .map(|u| u.username.as_str()),
            Some("bob")
        );
    }
}
