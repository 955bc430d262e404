//! The rules a value must keep to be stored, written once: the service's
//! conversions and the store's queries both use them.

use crate::error::StoreError;

/// A rule broken by `field`.
pub fn invalid(field: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Invalid { field, reason: reason.into() }
}

/// `value` as a digit 0-9.
///
/// # Errors
/// [`StoreError::Invalid`] naming `field` otherwise.
pub fn digit(field: &'static str, value: i64) -> Result<i16, StoreError> {
    match i16::try_from(value) {
        Ok(digit) if (0..=9).contains(&digit) => Ok(digit),
        _ => Err(invalid(field, format!("{value} is not a digit 0-9"))),
    }
}

/// `value` as a class: a digit 0-9, or 10 for not a digit.
///
/// # Errors
/// [`StoreError::Invalid`] naming `field` otherwise.
pub fn class(field: &'static str, value: i64) -> Result<i16, StoreError> {
    match i16::try_from(value) {
        Ok(class) if (0..=10).contains(&class) => Ok(class),
        _ => Err(invalid(field, format!("{value} is not a digit 0-9 or 10 (not a digit)"))),
    }
}

/// Whether `text` can be an id or owner at all: 1 to `max` bytes and no NUL
/// (which PostgreSQL cannot store in text). Lookups of anything else find nothing.
pub fn storable(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && !text.contains('\0')
}
