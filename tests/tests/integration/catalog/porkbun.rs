//! Porkbun (`guest-providers/porkbun`) against `standins/porkbun.py`.

use acmebox_tests::catalog::Case;

const API_KEY: &str = "pk1_catalog_key_5b0e2d7c91";
const SECRET_API_KEY: &str = "sk1_catalog_secret_8f3a6c1e04";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-porkbun",
        vendor: "porkbun",
        standin_options: vec![
            ("apikey", API_KEY.to_owned()),
            ("secretapikey", SECRET_API_KEY.to_owned()),
        ],
        config: vec![
            ("api_key", API_KEY.to_owned(), true),
            ("secret_api_key", SECRET_API_KEY.to_owned(), true),
        ],
        api_path: "/api/json/v3",
        wrong_credentials: vec![("secret_api_key", "sk1_wrong_secret".to_owned())],
        real_host: "https://api.porkbun.com",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());
