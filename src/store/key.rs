//! Typed keys of the `meta` table: a [`Key`] names a value and says its
//! type, so a reader and a writer of one value cannot disagree on either.
//! The keys themselves live with the controllers that own the values.

use super::{Store, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

/// The key of a `meta` value of type `T`.
#[derive(Debug)]
pub struct Key<T> {
    name: &'static str,
    kind: PhantomData<fn() -> T>,
}

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Key<T> {}

impl<T: Serialize + DeserializeOwned> Key<T> {
    /// The key `name`.
    pub const fn new(name: &'static str) -> Key<T> {
        Key {
            name,
            kind: PhantomData,
        }
    }

    /// Its name in the table.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The `(key, value)` pair to write with [`Store::set_meta`] or
    /// [`Store::record`].
    pub fn with(&self, value: &T) -> (&'static str, serde_json::Value) {
        let json = serde_json::to_value(value).unwrap_or_default();
        (self.name, json)
    }
}

impl Store {
    /// Reads the value of `key`.
    pub fn get<T: Serialize + DeserializeOwned>(
        &self,
        key: Key<T>,
    ) -> Result<Option<T>, StoreError> {
        self.meta(key.name())
    }
}
