//! PromQL evaluation over the storage `Querier` trait.
