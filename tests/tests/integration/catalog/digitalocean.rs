//! DigitalOcean (`guest-providers/digitalocean`) against `standins/digitalocean.py`.

use acmebox_tests::catalog::Case;

const TOKEN: &str = "dop_v1_catalog_token_4f1c9e7a2b";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-digitalocean",
        vendor: "digitalocean",
        standin_options: vec![("token", TOKEN.to_owned())],
        config: vec![("auth_token", TOKEN.to_owned(), true)],
        api_path: "",
        wrong_credentials: vec![("auth_token", "dop_v1_wrong_token".to_owned())],
        real_host: "https://api.digitalocean.com",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());
