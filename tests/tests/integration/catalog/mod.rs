//! The provider catalog, each provider against its stand-in (`tests/standins`), which writes
//! through to the real PowerDNS. Every provider runs the checks of `acmebox_tests::catalog`,
//! one test each; vendor-specific behaviour has tests of its own in the provider's module.

mod akamai;
mod alidns;
mod azure;
mod bunny;
mod desec;
mod digitalocean;
mod dnsimple;
mod dnsmadeeasy;
mod duckdns;
mod gandi;
mod gcloud;
mod godaddy;
mod hetzner;
mod inwx;
mod ionos;
mod linode;
mod namecheap;
mod netcup;
mod ns1;
mod ovh;
mod porkbun;
mod route53;
mod tencentcloud;
mod vultr;
