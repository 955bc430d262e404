//! Configuration comes from environment variables only. These helpers give
//! every service the same behaviour: unset or empty means the default, and a
//! value that does not parse is an error naming the variable.

use std::str::FromStr;

/// A variable is set but its value is unusable.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}={value:?} is invalid: {reason}")]
pub struct EnvError {
    /// The variable's name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// Why it was rejected.
    pub reason: String,
}

/// The variable's value, or `None` when unset or empty.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The variable parsed as `T`, or `default` when unset or empty.
///
/// # Errors
/// When the value is set but does not parse.
pub fn var_or<T>(name: &str, default: T) -> Result<T, EnvError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(value) => {
            value.trim().parse().map_err(|e: T::Err| EnvError { name: name.to_owned(), value, reason: e.to_string() })
        }
    }
}

/// Like [`var_or`], and the value must be at least 1.
///
/// # Errors
/// When the value does not parse or is 0.
pub fn positive_or<T>(name: &str, default: T) -> Result<T, EnvError>
where
    T: FromStr + PartialOrd + From<u8> + std::fmt::Display + Copy,
    T::Err: std::fmt::Display,
{
    let value = var_or(name, default)?;
    if value < T::from(1) {
        return Err(EnvError { name: name.to_owned(), value: value.to_string(), reason: "must be at least 1".into() });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_and_empty_give_the_default_and_bad_values_name_the_variable() {
        assert_eq!(var_or("DIGITS_TEST_UNSET_VAR", 7u32).ok(), Some(7));
        // PATH is always set and never a number.
        let err = var_or::<u32>("PATH", 1).expect_err("PATH is not a number");
        assert!(err.to_string().contains("PATH"));
        assert!(positive_or("DIGITS_TEST_UNSET_VAR", 0u32).is_err());
    }
}
