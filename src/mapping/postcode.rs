//! Postcode checks and normalisation for the countries whose format the bus knows.
//!
//! Checked: PL, DE, AT, FR, NL, GB, IE, US, CZ, ES and IT. Every other country's postcode is
//! accepted as entered, trimmed. A checked postcode is returned in its usual written form, e.g.
//! "sw1a1aa" becomes "SW1A 1AA" and "1234ab" becomes "1234 AB". Each country's rule lives in
//! `check_postcode`.

/// Why a postcode was rejected. `expected` is the format shown to the user, e.g. "NN-NNN".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostcodeError {
    /// The country requires a postcode and none was given.
    Missing { expected: &'static str },
    /// The postcode does not match the country's format.
    Invalid { expected: &'static str },
}

/// Checks a postcode against its country's format and returns it normalised.
///
/// `country` is an upper-case ISO 3166-1 alpha-2 code. Surrounding whitespace is trimmed for
/// every country. Ireland accepts an empty postcode because many Irish addresses are written
/// without their Eircode.
pub fn normalize_postcode(country: &str, postcode: &str) -> Result<String, PostcodeError> {
    let trimmed = postcode.trim();
    let Some(expected) = expected_format(country) else {
        return Ok(trimmed.to_string());
    };

    if trimmed.is_empty() {
        if country == "IE" {
            return Ok(String::new());
        }
        return Err(PostcodeError::Missing { expected });
    }

    check_postcode(country, trimmed).ok_or(PostcodeError::Invalid { expected })
}

/// Returns the format shown in messages, or `None` for a country whose postcodes are not checked.
pub fn expected_format(country: &str) -> Option<&'static str> {
    let expected = match country {
        "PL" => "NN-NNN",
        "DE" | "FR" | "ES" | "IT" => "NNNNN",
        "AT" => "NNNN",
        "NL" => "NNNN AA",
        "GB" => "a UK postcode such as SW1A 1AA",
        "IE" => "an Eircode such as A65 F4E2",
        "US" => "NNNNN or NNNNN-NNNN",
        "CZ" => "NNN NN",
        _ => return None,
    };
    Some(expected)
}

/// Returns the normalised postcode, or `None` when it does not match the country's format.
fn check_postcode(country: &str, postcode: &str) -> Option<String> {
    // Countries where a space inside the code is optional are compared without spaces.
    let compact: String = postcode
        .chars()
        .filter(|character| *character != ' ')
        .collect::<String>()
        .to_ascii_uppercase();

    match country {
        "PL" => polish(postcode),
        "DE" | "FR" | "ES" | "IT" => shape(postcode, "99999").then(|| postcode.to_string()),
        "AT" => shape(postcode, "9999").then(|| postcode.to_string()),
        "NL" => dutch(&compact),
        "GB" => british(&compact),
        "IE" => irish(&compact),
        "US" => american(postcode),
        "CZ" => shape(&compact, "99999").then(|| format!("{} {}", &compact[..3], &compact[3..])),
        _ => Some(postcode.to_string()),
    }
}

/// Returns whether `text` has the shape of `pattern`, where `9` is an ASCII digit, `A` an ASCII letter
/// and any other character stands for itself.
fn shape(text: &str, pattern: &str) -> bool {
    text.len() == pattern.len()
        && text
            .bytes()
            .zip(pattern.bytes())
            .all(|(byte, slot)| match slot {
                b'9' => byte.is_ascii_digit(),
                b'A' => byte.is_ascii_alphabetic(),
                literal => byte == literal,
            })
}

/// Poland: NN-NNN. Five digits without the hyphen are accepted and get it inserted.
fn polish(postcode: &str) -> Option<String> {
    if shape(postcode, "99-999") {
        return Some(postcode.to_string());
    }
    shape(postcode, "99999").then(|| format!("{}-{}", &postcode[..2], &postcode[2..]))
}

/// Netherlands: four digits, the first not 0, then two letters ("1234 AB").
fn dutch(compact: &str) -> Option<String> {
    let valid = shape(compact, "9999AA") && !compact.starts_with('0');
    valid.then(|| format!("{} {}", &compact[..4], &compact[4..]))
}

/// United Kingdom: an outward code (A9, A99, AA9, AA99, A9A or AA9A) and an inward code (9AA),
/// whose letters are never C, I, K, M, O or V. GIR 0AA is the one special code.
fn british(compact: &str) -> Option<String> {
    if compact == "GIR0AA" {
        return Some("GIR 0AA".to_string());
    }
    if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
        return None;
    }

    let (outward, inward) = compact.split_at(compact.len() - 3);
    let outward_valid = ["A9", "A99", "AA9", "AA99", "A9A", "AA9A"]
        .iter()
        .any(|pattern| shape(outward, pattern));
    let inward_valid =
        shape(inward, "9AA") && !inward.bytes().any(|byte| b"CIKMOV".contains(&byte));

    (outward_valid && inward_valid).then(|| format!("{outward} {inward}"))
}

/// Ireland: an Eircode routing key (a letter and two digits, or D6W) and a four-character unique
/// identifier. Eircodes use digits and only the letters A C D E F H K N P R T V W X Y.
fn irish(compact: &str) -> Option<String> {
    const LETTERS: &[u8] = b"ACDEFHKNPRTVWXY";
    if compact.len() != 7 || !compact.is_ascii() {
        return None;
    }

    let (routing_key, identifier) = compact.split_at(3);
    let routing_valid = routing_key == "D6W"
        || (shape(routing_key, "A99") && LETTERS.contains(&routing_key.as_bytes()[0]));
    let identifier_valid = identifier
        .bytes()
        .all(|byte| byte.is_ascii_digit() || LETTERS.contains(&byte));

    (routing_valid && identifier_valid).then(|| format!("{routing_key} {identifier}"))
}

/// United States: a ZIP code (NNNNN) or ZIP+4 (NNNNN-NNNN). Nine digits get the hyphen inserted.
fn american(postcode: &str) -> Option<String> {
    if shape(postcode, "99999") || shape(postcode, "99999-9999") {
        return Some(postcode.to_string());
    }
    shape(postcode, "999999999").then(|| format!("{}-{}", &postcode[..5], &postcode[5..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_postcodes_are_normalised() {
        let cases = [
            ("PL", "00-950", "00-950"),
            ("PL", "00950", "00-950"),
            ("DE", "10115", "10115"),
            ("AT", " 1010 ", "1010"),
            ("FR", "75001", "75001"),
            ("NL", "1012 ab", "1012 AB"),
            ("NL", "1012AB", "1012 AB"),
            ("GB", "sw1a1aa", "SW1A 1AA"),
            ("GB", "M1 1AE", "M1 1AE"),
            ("GB", "B33 8TH", "B33 8TH"),
            ("GB", "CR2 6XH", "CR2 6XH"),
            ("GB", "DN55 1PT", "DN55 1PT"),
            ("GB", "W1A 0AX", "W1A 0AX"),
            ("GB", "EC1A 1BB", "EC1A 1BB"),
            ("GB", "gir 0aa", "GIR 0AA"),
            ("IE", "a65f4e2", "A65 F4E2"),
            ("IE", "D6W 1234", "D6W 1234"),
            ("IE", "", ""),
            ("US", "94103", "94103"),
            ("US", "94103-1234", "94103-1234"),
            ("US", "941031234", "94103-1234"),
            ("CZ", "11000", "110 00"),
            ("CZ", "110 00", "110 00"),
            ("ES", "28013", "28013"),
            ("IT", "00184", "00184"),
        ];
        for (country, postcode, expected) in cases {
            assert_eq!(
                normalize_postcode(country, postcode),
                Ok(expected.to_string()),
                "{country} {postcode:?}"
            );
        }
    }

    #[test]
    fn invalid_postcodes_are_rejected() {
        let cases = [
            ("PL", "1234", "NN-NNN"),
            ("PL", "00-95O", "NN-NNN"),
            ("DE", "1011", "NNNNN"),
            ("DE", "10115a", "NNNNN"),
            ("AT", "10100", "NNNN"),
            ("FR", "7500", "NNNNN"),
            ("NL", "0123 AB", "NNNN AA"),
            ("NL", "1012 A", "NNNN AA"),
            ("GB", "SW1A 1AI", "a UK postcode such as SW1A 1AA"),
            ("GB", "12345", "a UK postcode such as SW1A 1AA"),
            ("GB", "SW1A1AAA", "a UK postcode such as SW1A 1AA"),
            ("IE", "B65 F4E2", "an Eircode such as A65 F4E2"),
            ("IE", "A65 F4E", "an Eircode such as A65 F4E2"),
            ("IE", "Dublin 2", "an Eircode such as A65 F4E2"),
            ("US", "9410", "NNNNN or NNNNN-NNNN"),
            ("US", "94103-12", "NNNNN or NNNNN-NNNN"),
            ("CZ", "1100", "NNN NN"),
            ("ES", "2801", "NNNNN"),
            ("IT", "I-00184", "NNNNN"),
            ("GB", "SW1A1Aé", "a UK postcode such as SW1A 1AA"),
            ("IE", "A65F4Eé", "an Eircode such as A65 F4E2"),
        ];
        for (country, postcode, expected) in cases {
            assert_eq!(
                normalize_postcode(country, postcode),
                Err(PostcodeError::Invalid { expected }),
                "{country} {postcode:?}"
            );
        }
    }

    #[test]
    fn missing_postcode_rejected_where_required() {
        for country in ["PL", "DE", "AT", "FR", "NL", "GB", "US", "CZ", "ES", "IT"] {
            let result = normalize_postcode(country, "  ");
            assert!(
                matches!(result, Err(PostcodeError::Missing { .. })),
                "{country}: {result:?}"
            );
        }
    }

    #[test]
    fn unchecked_countries_keep_postcode() {
        assert_eq!(
            normalize_postcode("BR", " 12345-000 "),
            Ok("12345-000".to_string())
        );
        assert_eq!(normalize_postcode("SE", ""), Ok(String::new()));
        assert_eq!(
            normalize_postcode("IN", "anything"),
            Ok("anything".to_string())
        );
    }
}
