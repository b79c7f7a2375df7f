use tokengate::{Authorizer, KeySet, Profile};

fn main() {
    let _authorizer = Authorizer::builder(Profile::cognito_access())
        .client_id("client")
        .keys(KeySet::default())
        .build();
}
