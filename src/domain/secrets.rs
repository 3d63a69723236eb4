//! Secrets Manager's rules that need no store: how staging labels move between the versions of a
//! secret, the random suffix of a secret's ARN, and the characters of GetRandomPassword.

use std::collections::BTreeMap;

/// The label of the version GetSecretValue returns by default.
pub const CURRENT: &str = "AWSCURRENT";
/// The label the version that was current gets when AWSCURRENT moves away from it.
pub const PREVIOUS: &str = "AWSPREVIOUS";

/// A secret's staging labels: each label and the one version that has it.
pub type Stages = BTreeMap<String, String>;

/// Labels a new version with `labels`: each leaves the version that had it, and when AWSCURRENT
/// moves, the version it left gets AWSPREVIOUS (which leaves the version that had that).
pub fn label_new_version(stages: &mut Stages, version: &str, labels: &[String]) {
    for label in labels {
        move_label(stages, label, version);
    }
}

fn move_label(stages: &mut Stages, label: &str, to: &str) {
    let from = stages.insert(label.to_owned(), to.to_owned());
    if label == CURRENT
        && let Some(from) = from.filter(|f| f != to)
    {
        stages.insert(PREVIOUS.to_owned(), from);
    }
}

/// UpdateSecretVersionStage: `label` leaves `remove_from` and goes to `move_to`. A label on a
/// version must be removed from it by name, and AWSCURRENT cannot be left on no version. The
/// versions named are known to be the secret's. The error is Secrets Manager's message.
///
/// # Errors
/// When the label is on another version than `remove_from`, or would leave AWSCURRENT nowhere.
pub fn update_stage(
    stages: &mut Stages,
    label: &str,
    remove_from: Option<&str>,
    move_to: Option<&str>,
) -> Result<(), String> {
    match (stages.get(label), remove_from) {
        (Some(holder), None) if move_to != Some(holder.as_str()) => {
            return Err(format!(
                "The parameter RemoveFromVersionId can't be empty. Staging label {label} is currently attached to version {holder}, so you must explicitly reference that version in RemoveFromVersionId."
            ));
        }
        (Some(holder), Some(from)) if holder != from => {
            return Err(format!(
                "The staging label {label} is currently attached to version {holder}, not to version {from}, so you must explicitly reference version {holder} in RemoveFromVersionId."
            ));
        }
        (None, Some(from)) => return Err(format!("Version stage {label} not found in version {from}")),
        _ => {}
    }
    match move_to {
        Some(to) => move_label(stages, label, to),
        None if label == CURRENT => {
            return Err(
                "You can't remove the staging label AWSCURRENT from a version without moving it to another; name that version in MoveToVersionId.".to_owned(),
            );
        }
        None => {
            stages.remove(label);
        }
    }
    Ok(())
}

/// The labels of `version`, in label order.
#[must_use]
pub fn labels_of(stages: &Stages, version: &str) -> Vec<String> {
    stages.iter().filter(|(_, v)| v.as_str() == version).map(|(l, _)| l.clone()).collect()
}

/// The characters of a secret ARN's suffix.
const SUFFIX_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The six random characters AWS appends to a secret's name in its ARN (`name-AbC12z`); `below(n)`
/// is a uniform random number under `n`.
pub fn arn_suffix(mut below: impl FnMut(usize) -> usize) -> String {
    (0..6).map(|_| char::from(SUFFIX_CHARS[below(SUFFIX_CHARS.len()) % SUFFIX_CHARS.len()])).collect()
}

/// The punctuation GetRandomPassword draws from, as its documentation lists it.
pub const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// GetRandomPassword's request.
#[derive(Debug, Clone)]
pub struct PasswordRules {
    /// How many characters.
    pub length: usize,
    /// Characters never used.
    pub exclude: String,
    /// No digits.
    pub exclude_numbers: bool,
    /// No punctuation.
    pub exclude_punctuation: bool,
    /// No uppercase letters.
    pub exclude_uppercase: bool,
    /// No lowercase letters.
    pub exclude_lowercase: bool,
    /// The space may be used.
    pub include_space: bool,
    /// At least one character of every class used.
    pub require_each: bool,
}

impl Default for PasswordRules {
    fn default() -> Self {
        Self {
            length: 32,
            exclude: String::new(),
            exclude_numbers: false,
            exclude_punctuation: false,
            exclude_uppercase: false,
            exclude_lowercase: false,
            include_space: false,
            require_each: true,
        }
    }
}

/// A random password under `rules`; `below(n)` is a uniform random number under `n`.
///
/// # Errors
/// When the rules leave no character to use, or require more classes than the length holds.
pub fn random_password(rules: &PasswordRules, mut below: impl FnMut(usize) -> usize) -> Result<String, String> {
    let lower: String = ('a'..='z').collect();
    let upper: String = ('A'..='Z').collect();
    let digits: String = ('0'..='9').collect();
    let space = " ".to_owned();
    let classes: Vec<Vec<char>> = [
        (!rules.exclude_lowercase).then_some(lower),
        (!rules.exclude_uppercase).then_some(upper),
        (!rules.exclude_numbers).then_some(digits),
        (!rules.exclude_punctuation).then(|| PUNCTUATION.to_owned()),
        rules.include_space.then_some(space),
    ]
    .into_iter()
    .flatten()
    .map(|class| class.chars().filter(|c| !rules.exclude.contains(*c)).collect::<Vec<_>>())
    .filter(|class| !class.is_empty())
    .collect();
    let all: Vec<char> = classes.iter().flatten().copied().collect();
    if all.is_empty() {
        return Err("The password can't be generated: the request excludes every character.".to_owned());
    }
    if rules.require_each && rules.length < classes.len() {
        return Err("Password length is too short based on the required types.".to_owned());
    }
    let pick = |set: &[char], below: &mut dyn FnMut(usize) -> usize| set[below(set.len()) % set.len()];
    let mut password: Vec<char> = (0..rules.length).map(|_| pick(&all, &mut below)).collect();
    if rules.require_each {
        // One character of each class, at distinct positions drawn by a partial shuffle.
        let mut positions: Vec<usize> = (0..rules.length).collect();
        for (i, class) in classes.iter().enumerate() {
            let j = i + below(rules.length - i) % (rules.length - i);
            positions.swap(i, j);
            password[positions[i]] = pick(class, &mut below);
        }
    }
    Ok(password.into_iter().collect())
}

/// What ListSecrets' filters look at in a secret.
#[derive(Debug, Clone, Default)]
pub struct Searchable<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its description.
    pub description: Option<&'a str>,
    /// Its tags.
    pub tags: &'a [(String, String)],
    /// Its primary region.
    pub region: &'a str,
}

/// Whether a secret passes one ListSecrets filter: `key` (the model's enum) and its values,
/// any of which may match; a value led by `!` matches when its rest does not. `name`, the tag
/// keys and values and `primary-region` match by prefix, case-sensitive; `description` by
/// prefix, not case-sensitive; `all` takes each word of the value as a prefix, not
/// case-sensitive, of a word of any attribute. No secret of berth has an owning service.
#[must_use]
pub fn filter_matches(key: &str, values: &[String], secret: &Searchable<'_>) -> bool {
    let tag_keys: Vec<&str> = secret.tags.iter().map(|(k, _)| k.as_str()).collect();
    let tag_values: Vec<&str> = secret.tags.iter().map(|(_, v)| v.as_str()).collect();
    let attributes: Vec<&str> = match key {
        "name" => vec![secret.name],
        "description" => secret.description.into_iter().collect(),
        "tag-key" => tag_keys,
        "tag-value" => tag_values,
        "primary-region" => vec![secret.region],
        "all" => [secret.name].into_iter().chain(secret.description).chain(tag_keys).chain(tag_values).collect(),
        _ => Vec::new(),
    };
    let matches = |value: &str| match key {
        "description" => attributes.iter().any(|a| a.to_lowercase().starts_with(&value.to_lowercase())),
        "all" => {
            let words: Vec<String> = attributes
                .iter()
                .flat_map(|a| a.split(|c: char| !c.is_alphanumeric()))
                .map(str::to_lowercase)
                .collect();
            let wanted: Vec<String> = value.split_whitespace().map(str::to_lowercase).collect();
            !wanted.is_empty() && wanted.iter().all(|w| words.iter().any(|word| word.starts_with(w.as_str())))
        }
        _ => attributes.iter().any(|a| a.starts_with(value)),
    };
    values.iter().any(|value| match value.strip_prefix('!') {
        Some(rest) => !matches(rest),
        None => matches(value),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn stages(pairs: &[(&str, &str)]) -> Stages {
        pairs.iter().map(|(l, v)| ((*l).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn a_new_current_version_makes_the_old_one_previous() {
        let mut s = Stages::new();
        label_new_version(&mut s, "v1", &[CURRENT.to_owned()]);
        assert_eq!(s, stages(&[(CURRENT, "v1")]));
        label_new_version(&mut s, "v2", &[CURRENT.to_owned()]);
        assert_eq!(s, stages(&[(CURRENT, "v2"), (PREVIOUS, "v1")]));
        label_new_version(&mut s, "v3", &[CURRENT.to_owned()]);
        assert_eq!(s, stages(&[(CURRENT, "v3"), (PREVIOUS, "v2")]));
        // A custom label moves without touching the others.
        label_new_version(&mut s, "v4", &["blue".to_owned()]);
        assert_eq!(s, stages(&[(CURRENT, "v3"), (PREVIOUS, "v2"), ("blue", "v4")]));
        assert_eq!(labels_of(&s, "v4"), vec!["blue".to_owned()]);
        assert!(labels_of(&s, "v1").is_empty(), "v1 is deprecated");
    }

    #[test]
    fn moving_a_label_names_the_version_it_leaves() {
        let mut s = stages(&[(CURRENT, "v2"), (PREVIOUS, "v1")]);
        let err = update_stage(&mut s, CURRENT, None, Some("v1")).unwrap_err();
        assert!(err.contains("currently attached to version v2"), "{err}");
        let err = update_stage(&mut s, CURRENT, Some("v1"), Some("v3")).unwrap_err();
        assert!(err.contains("attached to version v2"), "{err}");
        // Rolling back: AWSCURRENT to v1, and v2 becomes AWSPREVIOUS.
        update_stage(&mut s, CURRENT, Some("v2"), Some("v1")).unwrap();
        assert_eq!(s, stages(&[(CURRENT, "v1"), (PREVIOUS, "v2")]));
        assert!(update_stage(&mut s, CURRENT, Some("v1"), None).is_err(), "AWSCURRENT stays somewhere");
        // A new label needs no RemoveFromVersionId; an unattached one cannot be removed.
        update_stage(&mut s, "blue", None, Some("v2")).unwrap();
        assert_eq!(s.get("blue").map(String::as_str), Some("v2"));
        update_stage(&mut s, "blue", Some("v2"), None).unwrap();
        assert!(!s.contains_key("blue"));
        assert!(update_stage(&mut s, "blue", Some("v2"), None).unwrap_err().contains("not found in version v2"));
        // Naming the holder as the target is a no-op, not an error.
        update_stage(&mut s, CURRENT, None, Some("v1")).unwrap();
        assert_eq!(s, stages(&[(CURRENT, "v1"), (PREVIOUS, "v2")]));
    }

    #[test]
    fn passwords_keep_to_the_rules() {
        let mut n = 0usize;
        let counter = move |bound: usize| {
            n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (n >> 33) % bound
        };
        let rules = PasswordRules { length: 4, exclude_punctuation: true, ..PasswordRules::default() };
        let p = random_password(&rules, counter).unwrap();
        assert_eq!(p.chars().count(), 4);
        assert!(p.chars().any(|c| c.is_ascii_lowercase()) && p.chars().any(|c| c.is_ascii_uppercase()));
        assert!(p.chars().any(|c| c.is_ascii_digit()) && p.chars().all(char::is_alphanumeric), "{p}");
        let none = PasswordRules {
            exclude_numbers: true,
            exclude_punctuation: true,
            exclude_uppercase: true,
            exclude_lowercase: true,
            ..PasswordRules::default()
        };
        assert!(random_password(&none, |_| 0).is_err());
        let short = PasswordRules { length: 3, ..PasswordRules::default() };
        assert!(random_password(&short, |_| 0).is_err(), "four classes do not fit in three characters");
        assert_eq!(arn_suffix(|_| 0), "AAAAAA");
    }

    #[test]
    fn filters_match_as_the_api_reference_says() {
        let tags = vec![("team".to_owned(), "Payments".to_owned())];
        let secret = Searchable {
            name: "prod/db-password",
            description: Some("The DB password"),
            tags: &tags,
            region: "us-east-1",
        };
        let f = |key: &str, values: &[&str]| {
            filter_matches(key, &values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>(), &secret)
        };
        assert!(f("name", &["prod/"]) && !f("name", &["Prod/"]) && !f("name", &["db"]));
        assert!(f("name", &["nope", "prod"]), "any value");
        assert!(f("name", &["!dev/"]) && !f("name", &["!prod"]));
        assert!(f("description", &["the db"]) && !f("description", &["password"]));
        assert!(f("tag-key", &["te"]) && f("tag-value", &["Pay"]) && !f("tag-value", &["pay"]));
        assert!(f("primary-region", &["us-"]) && !f("owning-service", &["rds"]));
        assert!(f("all", &["PASS"]) && f("all", &["db pay"]) && !f("all", &["db staging"]));
    }

    proptest! {
        #[test]
        fn every_password_has_its_length_each_class_and_no_excluded_character(
            length in 5usize..64,
            exclude in "[a-zA-Z0-9!-/]{0,12}",
            flags in proptest::collection::vec(any::<bool>(), 4),
            seed in any::<u64>(),
        ) {
            let rules = PasswordRules {
                length,
                exclude: exclude.clone(),
                exclude_numbers: flags[0],
                exclude_punctuation: flags[1],
                include_space: flags[2],
                require_each: flags[3],
                ..PasswordRules::default()
            };
            let mut state = seed;
            let below = move |bound: usize| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                usize::try_from(state >> 33).unwrap_or(0) % bound
            };
            let p = random_password(&rules, below).unwrap();
            prop_assert_eq!(p.chars().count(), length);
            prop_assert!(p.chars().all(|c| !exclude.contains(c)));
            prop_assert!(!rules.exclude_numbers || !p.chars().any(|c| c.is_ascii_digit()));
            prop_assert!(!rules.exclude_punctuation || !p.chars().any(|c| PUNCTUATION.contains(c)));
            prop_assert!(rules.include_space || !p.contains(' '));
            if rules.require_each {
                let lower = ('a'..='z').any(|c| !exclude.contains(c));
                prop_assert!(!lower || p.chars().any(|c| c.is_ascii_lowercase()));
                let digits = !rules.exclude_numbers && ('0'..='9').any(|c| !exclude.contains(c));
                prop_assert!(!digits || p.chars().any(|c| c.is_ascii_digit()));
            }
        }

        #[test]
        fn a_label_is_always_on_one_version_and_current_never_lost(
            ops in proptest::collection::vec((0usize..4, 0usize..3, any::<bool>()), 1..30),
        ) {
            let labels = [CURRENT, PREVIOUS, "blue", "green"];
            let mut s = Stages::new();
            label_new_version(&mut s, "v0", &[CURRENT.to_owned()]);
            for (i, (label, version, new)) in ops.into_iter().enumerate() {
                let label = labels[label];
                let current = s.get(CURRENT).cloned();
                let to = if new { format!("n{i}") } else { format!("v{version}") };
                if new {
                    label_new_version(&mut s, &to, &[label.to_owned()]);
                } else {
                    let holder = s.get(label).cloned();
                    prop_assert!(update_stage(&mut s, label, holder.as_deref(), Some(&to)).is_ok());
                }
                prop_assert!(s.contains_key(CURRENT));
                prop_assert_eq!(s.get(label), Some(&to));
                if label == CURRENT && current.as_ref() != Some(&to) {
                    prop_assert_eq!(s.get(PREVIOUS), current.as_ref(), "the old current is previous");
                }
            }
        }
    }
}
