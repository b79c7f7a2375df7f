use tokengate::{Authorizer, KeySet, Profile};

fn main() {
    let _authorizer = Authorizer::builder(Profile::generic())
        .issuer("https://issuer.example")
        .keys(KeySet::default())
        .build();
}
