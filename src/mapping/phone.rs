//! Phone numbers cleaned so that ERPNext accepts them.
//!
//! Frappe validates fields of type Phone with `PHONE_NUMBER_PATTERN` in `frappe/utils/__init__.py`:
//! 1 to 20 characters, each a digit, a space or one of `+ _ - , . * # ( )`. A value outside that
//! pattern makes the whole insert fail with InvalidPhoneNumberError. WooCommerce accepts almost
//! anything at checkout, so the bus cleans the number and drops it when no plausible number
//! remains. A phone number never rejects an order.

/// Maximum length of a phone value in Frappe's `PHONE_NUMBER_PATTERN`.
pub const MAX_PHONE_LENGTH: usize = 20;

/// Minimum number of digits for a value to count as a phone number.
const MIN_DIGITS: usize = 5;

/// Maximum number of digits of an international number (ITU-T E.164).
const MAX_DIGITS: usize = 15;

/// Cleans a phone number for ERPNext, or returns `None` when nothing usable remains.
///
/// Letters before the first digit ("Tel: ") are removed. Everything from the first letter after a
/// digit on ("ext. 12", "x12", "(mobile)") is cut off. A `/` becomes a space, and other characters
/// outside Frappe's set are removed. The result has 5 to 15 digits. When it is longer than 20
/// characters, it is compacted to its digits with a leading `+`, and a trunk prefix "(0)" after
/// the country code is removed.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let kept = keep_number_part(raw);
    let tidy = tidy_separators(&kept);

    let digits = tidy.chars().filter(char::is_ascii_digit).count();
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
        return None;
    }

    if tidy.len() <= MAX_PHONE_LENGTH {
        return Some(tidy);
    }
    Some(compact(&tidy))
}

/// Runs `normalize_phone` and adds a note to `notes` when a non-empty number is dropped.
/// `label` names the field in the note, e.g. "billing phone".
pub fn normalize_phone_with_note(
    label: &str,
    raw: &str,
    notes: &mut Vec<String>,
) -> Option<String> {
    if raw.trim().is_empty() {
        return None;
    }

    let phone = normalize_phone(raw);
    if phone.is_none() {
        notes.push(format!(
            "{label} '{raw}' was dropped because it is not a phone number ERPNext accepts \
             ({MIN_DIGITS} to {MAX_DIGITS} digits)"
        ));
    }
    phone
}

fn keep_number_part(raw: &str) -> String {
    let mut kept = String::new();
    let mut seen_digit = false;

    for character in raw.trim().chars() {
        if character.is_ascii_digit() {
            seen_digit = true;
            kept.push(character);
        } else if character.is_alphabetic() {
            if seen_digit {
                break;
            }
        } else if " +-().,*#_".contains(character) {
            kept.push(character);
        } else if character == '/' || character.is_whitespace() {
            kept.push(' ');
        } else if matches!(character, '\u{2010}'..='\u{2015}' | '\u{2212}') {
            // Unicode hyphens and dashes, which word processors put in pasted numbers.
            kept.push('-');
        }
    }
    kept
}

fn tidy_separators(kept: &str) -> String {
    let collapsed = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .trim_start_matches([' ', '-', '.', ',', '_', ')'])
        .trim_end_matches([' ', '-', '.', ',', '_', '(', '+'])
        .to_string()
}

fn compact(tidy: &str) -> String {
    let international = tidy.starts_with('+');
    let without_trunk = if international {
        tidy.replacen("(0)", "", 1)
    } else {
        tidy.to_string()
    };

    let digits: String = without_trunk.chars().filter(char::is_ascii_digit).collect();
    if international {
        format!("+{digits}")
    } else {
        digits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_kept_when_already_valid() {
        for phone in [
            "+00 000 000 000",
            "(555) 555-5555",
            "+48 22 123 45 67",
            "030.1234567",
        ] {
            assert_eq!(normalize_phone(phone), Some(phone.to_string()), "{phone:?}");
        }
    }

    #[test]
    fn phone_cleaned_of_other_characters() {
        let cases = [
            ("0170/1234567", "0170 1234567"),
            ("Tel: +49 30 1234567", "+49 30 1234567"),
            ("555-123-4567 ext. 89", "555-123-4567"),
            ("555-123-4567x89", "555-123-4567"),
            ("+49 170 1234567 (mobile)", "+49 170 1234567"),
            ("  +44\u{a0}20 7946 0958 ", "+44 20 7946 0958"),
            ("+1 555\u{2013}123\u{2013}4567", "+1 555-123-4567"),
            ("+49 (0) 170 - 123 45 - 67", "+491701234567"),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalize_phone(raw), Some(expected.to_string()), "{raw:?}");
        }
    }

    #[test]
    fn phone_results_match_frappe_pattern() {
        let raws = [
            "0170/1234567",
            "Tel: +49 30 1234567",
            "+49 (0) 170 - 123 45 - 67",
        ];
        for raw in raws {
            let phone = normalize_phone(raw).unwrap();
            assert!(phone.len() <= MAX_PHONE_LENGTH, "{phone:?}");
            assert!(
                phone.chars().all(|character| character.is_ascii_digit()
                    || " +_-,.*#()".contains(character)),
                "{phone:?}"
            );
        }
    }

    #[test]
    fn phone_dropped_when_too_short_or_too_long() {
        let raws = [
            "",
            "   ",
            "1234",
            "n/a",
            "none",
            "0800-FLOWERS",
            "+49 170 1234567 / 030 1234567",
        ];
        for raw in raws {
            assert_eq!(normalize_phone(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn dropped_phone_adds_note() {
        let mut notes = Vec::new();

        let phone = normalize_phone_with_note("billing phone", "n/a", &mut notes);

        assert_eq!(phone, None);
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].starts_with("billing phone 'n/a' was dropped"),
            "{notes:?}"
        );
    }

    #[test]
    fn empty_phone_adds_no_note() {
        let mut notes = Vec::new();

        let phone = normalize_phone_with_note("shipping phone", " ", &mut notes);

        assert_eq!(phone, None);
        assert!(notes.is_empty(), "{notes:?}");
    }
}
