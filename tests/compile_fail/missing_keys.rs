use tokengate::{Authorizer, Profile};

fn main() {
    let _authorizer = Authorizer::builder(Profile::rfc9068())
        .issuer("https://issuer.example")
        .audience("https://api.example")
        .build();
}
