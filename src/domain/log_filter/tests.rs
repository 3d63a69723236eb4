#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::{FilterPattern, PatternError, Prefilter};

fn p(text: &str) -> FilterPattern {
    FilterPattern::parse(text).unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
}

/// Asserts which of `messages` the pattern matches (`true`) and which it does not.
fn check(pattern: &str, cases: &[(&str, bool)]) {
    let f = p(pattern);
    for (m, want) in cases {
        assert_eq!(f.matches(m), *want, "pattern {pattern:?} on {m:?}");
        if *want {
            assert_sound(&f, m);
        }
    }
}

fn assert_sound(f: &FilterPattern, m: &str) {
    let pre = f.prefilter();
    if !(pre.unless_backslash && m.contains('\\')) {
        for lit in &pre.all_of {
            assert!(m.contains(lit.as_str()), "prefilter {lit:?} excludes {m:?}");
        }
    }
}

fn err(text: &str) -> String {
    match FilterPattern::parse(text) {
        Ok(_) => panic!("{text:?} should not parse"),
        Err(PatternError(m)) => m,
    }
}

const AWS_TERMS: [&str; 4] = [
    "[ERROR 400] BAD REQUEST",
    "[ERROR 401] UNAUTHORIZED REQUEST",
    "[ERROR 419] MISSING ARGUMENTS",
    "[ERROR 420] INVALID ARGUMENTS",
];

#[test]
fn empty_and_blank_patterns_match_everything() {
    for pat in ["", "   ", "\t", "\" \""] {
        check(pat, &[("anything", true), ("", true)]);
        assert_eq!(p(pat).prefilter(), Prefilter::default());
    }
}

#[test]
fn single_and_multiple_terms() {
    let [bad, unauth, missing, invalid] = AWS_TERMS;
    check("ERROR", &[(bad, true), (missing, true), ("Exiting with ERRORCODE: -1", true), ("error", false)]);
    check("ERROR ARGUMENTS", &[(missing, true), (invalid, true), (bad, false), (unauth, false)]);
    check("\"ERROR\" \"Exception\"", &[("[ERROR] Unhandled Exception", true), ("[ERROR] other", false)]);
    assert_eq!(p("ERROR ARGUMENTS").prefilter().all_of, ["ERROR", "ARGUMENTS"]);
}

#[test]
fn optional_terms() {
    let [bad, _, missing, _] = AWS_TERMS;
    check(
        "?ERROR ?ARGUMENTS",
        &[(bad, true), (missing, true), ("[INFO] INVALID ARGUMENTS PROVIDED", true), ("ok", false)],
    );
    check("?ERROR ?WARN", &[("ERROR WARN message", true), ("WARN message", true), ("INFO", false)]);
    assert!(p("?ERROR ?WARN").prefilter().all_of.is_empty());
    // AWS: combined with other terms, the `?` terms are ignored.
    check("?ERROR ?ARGUMENTS REQUEST", &[("[INFO] REQUEST FAILED", true), ("[ERROR] 400 BAD", false)]);
}

#[test]
fn exact_phrases_and_exclusions() {
    let [bad, unauth, missing, invalid] = AWS_TERMS;
    check(
        "\"INTERNAL SERVER ERROR\"",
        &[("[ERROR 500] INTERNAL SERVER ERROR", true), ("INTERNAL ERROR SERVER", false)],
    );
    check("ERROR -ARGUMENTS", &[(bad, true), (unauth, true), (missing, false), (invalid, false)]);
    check("ERROR -\"INVALID ARGUMENTS\"", &[(missing, true), (invalid, false)]);
    check("ERROR -Exiting", &[("[ERROR] A fatal exception", true), ("Exiting with ERRORCODE: -1", false)]);
    check("-ERROR", &[("all good", true), (bad, false)]);
    assert!(p("-ERROR").prefilter().all_of.is_empty());
    check("\"a \\\"quoted\\\" word\"", &[("say a \"quoted\" word", true), ("a quoted word", false)]);
    check("\"C:\\temp\"", &[("dir C:\\temp", true)]);
    check("\"status: 4*\"", &[("status: 4*", true), ("status: 404", false)]);
}

#[test]
fn unquoted_terms_need_quotes_for_symbols() {
    assert_eq!(err("email@example.com"), "Invalid filter pattern: Invalid character(s) in term 'email@example.com'");
    assert_eq!(err("ERROR:"), "Invalid filter pattern: Invalid character(s) in term 'ERROR:'");
    assert_eq!(err("\"\""), "Invalid filter pattern: Invalid character(s) in term '\"\"'");
    assert_eq!(err("? ERROR"), "Invalid filter pattern: Invalid character(s) in term '?'");
    assert_eq!(err("\"abc\"def"), "Invalid filter pattern: Invalid character(s) in term '\"abc\"def'");
    assert!(err("\"unclosed").starts_with("Invalid filter pattern"));
    assert!(err("ERROR }").contains("in term '}'"));
    check("under_score 404", &[("under_score 404", true)]);
}

#[test]
fn regex_patterns() {
    check(
        "%AUTHORIZED%",
        &[("[ERROR 401] UNAUTHORIZED REQUEST", true), ("[SUCCESS 200] AUTHORIZED REQUEST", true), ("no", false)],
    );
    check("%ERROR|WARN%", &[("a WARN", true), ("ERROR", true), ("INFO", false)]);
    check("%^[hc]at%", &[("hat trick", true), ("a cat", false)]);
    check("%colou?r%", &[("color", true), ("colour", true), ("colr", false)]);
    check("%a{3,5}%", &[("aaa", true), ("aa", false)]);
    check("%^a{ ,2}b%", &[("aab", true), ("b", true), ("aaab", false)]);
    check("%10\\.10\\.0\\.1%", &[("from 10.10.0.1", true), ("10010,051", false)]);
    check("%\\w+\\d%", &[("ab1", true), ("é1", false)]);
    check("%\\x3A%", &[("a:b", true), ("ab", false)]);
    assert!(p("%ERROR%").prefilter().all_of.is_empty());
    assert_eq!(p("%ERROR%").regex_count(), 1);
    assert_eq!(err("%something!%"), "Invalid filter pattern: Invalid character(s) in term '%something!%'");
    assert_eq!(err("%(a)%"), "Invalid filter pattern: Invalid character(s) in term '%(a)%'");
    assert!(err("%é%").contains("in term"));
    assert!(err("%abc").starts_with("Invalid filter pattern"));
    assert!(err("%[a%").starts_with("Invalid filter pattern"));
}

const TRAIL: &str = r#"{"eventType": "UpdateTrail", "sourceIPAddress": "111.111.111.111", "arrayKey": ["value", "another value"], "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}], "SomeObject": null, "ThisFlag": true, "cluster.name": "c"}"#;

#[test]
fn json_strings_and_arrays() {
    check("{ $.eventType = \"UpdateTrail\" }", &[(TRAIL, true), (r#"{"eventType": "Other"}"#, false)]);
    check("{$.eventType=UpdateTrail}", &[(TRAIL, true)]);
    check("{ $.eventType = \"Update*\" }", &[(TRAIL, true)]);
    check("{ $.eventType = *Trail }", &[(TRAIL, true)]);
    check("{ $.eventType = \"*\" }", &[(TRAIL, true), (r#"{"x": 1}"#, false)]);
    check("{ $.sourceIPAddress != 123.123.* }", &[(TRAIL, true), (r#"{"sourceIPAddress": "123.123.1.1"}"#, false)]);
    check("{ $.arrayKey[0] = \"value\" }", &[(TRAIL, true)]);
    check("{ $.arrayKey[1] = \"value\" }", &[(TRAIL, false)]);
    check("{ $.objectList[1].id = 2 }", &[(TRAIL, true)]);
    check("{ $.objectList[0].id = 2 }", &[(TRAIL, false)]);
    check("{ $.['cluster.name'] = \"c\" }", &[(TRAIL, true)]);
    check("{ $.cluster.name = \"c\" }", &[(TRAIL, false)]);
    check("{ $.eventType = %Trail% }", &[(TRAIL, true)]);
    check("{ $.arrayKey[*] = %val.{2}% }", &[(TRAIL, true)]);
    check("{ $.* = %111\\.111\\.111\\.1[0-9]{1,2}% }", &[(TRAIL, true)]);
    check("{ $.objectList[*].name = \"b\" }", &[(TRAIL, true)]);
    check("{ $.objectList[*].name = \"z\" }", &[(TRAIL, false)]);
    // Selectors that reach an object or array match neither = nor !=.
    check("{ $.objectList = 1 }", &[(TRAIL, false)]);
    check("{ $.objectList != 1 }", &[(TRAIL, false)]);
    check("{ $.missing != 1 }", &[(TRAIL, false)]);
    check(
        "{ $.eventType = \"UpdateTrail\" }",
        &[("not json at all", false), ("UpdateTrail", false), ("\"UpdateTrail\"", false)],
    );
}

#[test]
fn json_is_and_exists() {
    check("{ $.SomeObject IS NULL }", &[(TRAIL, true), (r#"{"SomeObject": 1}"#, false), ("{}", false)]);
    check("{ $.SomeOtherObject NOT EXISTS }", &[(TRAIL, true), (r#"{"SomeOtherObject": null}"#, false)]);
    check("{ $.ThisFlag IS TRUE }", &[(TRAIL, true), (r#"{"ThisFlag": "true"}"#, false)]);
    check("{ $.ThisFlag IS FALSE }", &[(TRAIL, false), (r#"{"ThisFlag": false}"#, true)]);
    assert!(err("{ $.a IS NOT NULL }").starts_with("Invalid filter pattern"));
    assert!(err("{ $.a EXISTS }").starts_with("Invalid filter pattern"));
}

#[test]
fn json_numbers() {
    let m =
        r#"{"bandwidth": 80, "latency": 49.5, "errorCode": 400, "number": [0.001, 1000], "code": "404", "neg": -3}"#;
    check("{ $.bandwidth > 75 }", &[(m, true)]);
    check("{ $.latency < 50 }", &[(m, true)]);
    check("{ $.latency >= 49.5 }", &[(m, true)]);
    check("{ $.latency <= 49 }", &[(m, false)]);
    check("{ $.errorCode = 400 }", &[(m, true)]);
    check("{ $.errorCode != 500 }", &[(m, true)]);
    check("{ $.errorCode = 4* }", &[(m, true)]);
    check("{ $.number[0] = 1e-3 }", &[(m, true)]);
    check("{ $.number[1] = 1e+3 }", &[(m, true)]);
    check("{ $.number[1] = 10e2 }", &[(m, true)]);
    check("{ $.bandwidth > +79 }", &[(m, true)]);
    check("{ $.neg < -2.5 }", &[(m, true)]);
    check("{ $.code = 404 }", &[(m, true)]);
    check("{ $.code = \"404\" }", &[(m, true)]);
    check("{ $.errorCode = \"400\" }", &[(m, true)]);
    check("{ $.latency = * }", &[(m, true), (r#"{"latency": null}"#, false)]);
    check("{ $.bandwidth > 75 }", &[(r#"{"bandwidth": "fast"}"#, false)]);
    assert!(err("{ $.a > abc }").starts_with("Invalid filter pattern"));
    assert!(err("{ $.a < \"5\" }").starts_with("Invalid filter pattern"));
}

const USERS: &str = r#"{"user": {"id": 1, "email": "John.Stiles@example.com"}, "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}], "actions": ["GET", "PUT", "DELETE"], "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]]}"#;

#[test]
fn json_compound_expressions() {
    check("{ ($.user.id = 1) && ($.users[0].email = \"John.Doe@example.com\") }", &[(USERS, true)]);
    check(
        "{ $.user.email = \"John.Stiles@example.com\" || $.coordinates[0][1] = \"nonmatch\" && $.actions[2] = \"nonmatch\" }",
        &[(USERS, true)],
    );
    check(
        "{ ($.user.email = \"John.Stiles@example.com\" || $.coordinates[0][1] = \"nonmatch\") && $.actions[2] = \"nonmatch\" }",
        &[(USERS, false)],
    );
    check("{ ($.user.id = 2 && $.users[0].email = \"nonmatch\") || $.actions[2] = \"GET\" }", &[(USERS, false)]);
    check("{ $.coordinates[1][2] = 6 }", &[(USERS, true)]);
    check(
        "{$.foo = bar || $.foo = baz }",
        &[(r#"{"foo": "bar"}"#, true), (r#"{"foo": "baz"}"#, true), (r#"{"foo": "qux"}"#, false)],
    );
}

#[test]
fn json_prefilter_and_escapes() {
    let f = p("{ $.eventType = \"UpdateTrail\" }");
    let pre = f.prefilter();
    assert!(pre.unless_backslash);
    assert_eq!(pre.all_of, ["\"eventType\"", "UpdateTrail"]);
    let escaped = r#"{"eventType": "Upd\u0061teTrail"}"#;
    assert!(f.matches(escaped));
    assert_sound(&f, escaped);
    // Alternatives keep only what both sides need; numbers need no literal text.
    assert_eq!(p("{ $.a = \"xy\" || $.a = \"xz\" }").prefilter().all_of, ["\"a\""]);
    assert_eq!(p("{ $.a = 1000 }").prefilter().all_of, ["\"a\""]);
    assert_eq!(p("{ $.a = \"10*\" }").prefilter().all_of, ["\"a\""]);
    assert!(p("{ $.a NOT EXISTS }").prefilter().all_of.is_empty());
    assert!(p("{ $.a = 10* }").matches(r#"{"a": 1e3}"#));
    assert_eq!(p("{ $.a = %x% || $.b = %y% }").regex_count(), 2);
    assert_eq!(p("[a = %x%, b]").regex_count(), 1);
    assert_eq!(p("ERROR").regex_count(), 0);
}

#[test]
fn json_errors() {
    assert_eq!(err("{ $.a = 1"), "If a filter pattern starts with '{' it must end with '}'");
    assert_eq!(err("{"), "If a filter pattern starts with '{' it must end with '}'");
    for bad in [
        "{}",
        "{ $.a = }",
        "{ $.a == 1 }",
        "{ $.a => 1 }",
        "{ $.a ~ 1 }",
        "{ a = 1 }",
        "{ $. = 1 }",
        "{ $.a[x] = 1 }",
        "{ ($.a = 1 }",
        "{ $.a = 1) }",
        "{ $.a = 1 && }",
        "{ $.a = 1 & $.b = 2 }",
        "{ $.a = \"x }",
        "{ $.a[*].b[*] = 1 }",
        "{ $.a[*] = 1 || $.b[*] = 1 || $.c[*] = 1 || $.d[*] = 1 }",
        "{ $.a = %x% || $.b = %y% || $.c = %z% }",
        "{ $.a = x@y }",
    ] {
        assert!(FilterPattern::parse(bad).is_err(), "{bad:?} should not parse");
    }
    assert!(err("{ $.a = x@y }").contains("in term 'x@y'"));
    let deep = format!("{{ {}$.a = 1{} }}", "(".repeat(200), ")".repeat(200));
    assert!(FilterPattern::parse(&deep).is_err());
    assert!(FilterPattern::parse("{ $.a[*] = 1 || $.b[*] = 1 || $.c[*] = 1 }").is_ok());
}

const APACHE: &str = r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534"#;
const APACHE_HTML: &str = r#"127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;

#[test]
fn delimited_fields_and_ellipsis() {
    check(
        "[ip, user, username, timestamp, request, status_code, bytes]",
        &[(APACHE, true), ("a b c", false), ("1 2 3 4 5 6 7 8", false)],
    );
    check("[..., status_code, bytes]", &[(APACHE, true), ("a b", true), ("a", false)]);
    check("[ip, user, ..., status_code, bytes]", &[(APACHE, true), ("a b c d", true), ("a b c", false)]);
    check("[ip, user, ...]", &[(APACHE, true), ("a b", true), ("a", false)]);
    check("[..., x = 5, ...]", &[("1 5 2", true), ("5", true), ("1 2 3", false)]);
    check("[a, , c]", &[("1 2 3", true), ("1 2", false)]);
    check("[..., a = x, ..., b = y]", &[("x y", true), ("1 x 2 x 3 y", true), ("x 1 y 2", false), ("y x", false)]);
    check("[..., ...]", &[("", true), ("a b c", true)]);
    check("[...]", &[("", true), ("anything at all", true)]);
    check("[..., request=*.html*, status_code=4*,]", &[(APACHE_HTML, true), (APACHE, false)]);
}

#[test]
fn delimited_conditions() {
    check("[ip, user, username, timestamp, request, status_code, bytes > 1000]", &[(APACHE, true)]);
    check(
        "[ip, user, username, timestamp, request, status_code = 200, bytes]",
        &[(APACHE, true), (APACHE_HTML, false)],
    );
    check("[ip, user, username, timestamp, request, status_code = 4*, bytes]", &[(APACHE_HTML, true), (APACHE, false)]);
    check("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", &[(APACHE_HTML, true)]);
    check(
        "[ip, user, username, timestamp = \"10/Oct/2000:13:25:15 -0700\", request, status_code, bytes]",
        &[(APACHE, true)],
    );
    check(
        "[ip=%127\\.0\\.0\\.[1-9]%, user, username, timestamp, request =*.html*, status_code = 4*, bytes]",
        &[(APACHE_HTML, true)],
    );
    check(
        "[ip, user, username, timestamp, request =*.html*, status_code = 404 || status_code = 410, bytes]",
        &[(APACHE_HTML, true), (&APACHE_HTML.replace("404", "410"), true), (&APACHE_HTML.replace("404", "500"), false)],
    );
    check("[ip, user, ..., status_code = 4* || status_code = 5*, bytes]", &[(APACHE_HTML, true), (APACHE, false)]);
    check("[..., bytes >= 1534 && bytes < 2000]", &[(APACHE, true), ("x 2000", false), ("x big", false)]);
    check("[..., bytes != 1534]", &[(APACHE, false), ("x 12", true), ("x big", true)]);
    let log = ["ERROR WARN message", "ERROR message", "WARN message"];
    check("[w1=ERROR, w2]", &[(log[1], true), (log[2], false), (log[0], false)]);
    check("[w1=ERROR || w1=WARN, w2]", &[(log[1], true), (log[2], true), (log[0], false)]);
    check("[w1!=ERROR && w1!=WARN, w2]", &[("INFO message", true), (log[1], false), (log[2], false)]);
    check("[w1 = \"ERROR\", w2 = \"mess*\"]", &[(log[1], true)]);
    let uri = "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200";
    check("[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]", &[(uri, true)]);
    check(
        "[logLevel, date, time, method, url=%/service/resource/[0-9]+/part/[0-9]+$%, response_time]",
        &[(uri, false)],
    );
    assert_eq!(p("[..., request = *.html*, code = 404 || code = \"4x4\"]").prefilter().all_of, [".html"]);
    assert!(!p("[a = x]").prefilter().unless_backslash);
}

#[test]
fn delimited_errors() {
    assert_eq!(err("[a, b"), "If a filter pattern starts with '[' it must end with ']'");
    for bad in [
        "[]",
        "[ ]",
        "[a = ]",
        "[a == 1]",
        "[a = 1 b]",
        "[a = \"x]",
        "[a = %x]",
        "[a-b]",
        "[a = 4* && b > 1000]",
        "[a > x]",
        "[(a = 1)]",
        "[a = %x%, b = %y%, c = %z%]",
        "[a = x@y]",
    ] {
        assert!(FilterPattern::parse(bad).is_err(), "{bad:?} should not parse");
    }
    assert_eq!(err("[a-b]"), "Invalid filter pattern: Invalid character(s) in term 'a-b'");
}

#[test]
fn message_field_splitting() {
    check("[a, b, c]", &[("  x   \"y z\"  [1 2]  ", true), ("x \"y z", false)]);
    check("[a, b = \"y z\"]", &[("x \"y z", true)]);
    check("[a = \"\", b]", &[("\"\" x", true)]);
}

fn patterns_for_soundness() -> Vec<FilterPattern> {
    [
        "ERROR",
        "ERROR ARGUMENTS",
        "\"a b\" -c",
        "?ERROR ?a",
        "{ $.a = \"xy*\" }",
        "{ $.a = \"b\" && $.c != \"d\" }",
        "{ $.a = xy || $.b = \"xy\" }",
        "{ $.a[*] = \"b\" }",
        "{ $.* = b }",
        "{ $.a = 1 }",
        "{ $.a = \"1*\" }",
        "{ $.a IS TRUE }",
        "{ $.a IS NULL || $.b IS FALSE }",
        "{ $.c.a = \"x*y\" }",
        "[x, y = xy*]",
        "[..., y = *b* || y = *b]",
        "[x = 1, ...]",
        "[x = \"a b\", y]",
    ]
    .iter()
    .map(|s| p(s))
    .collect()
}

fn json_leaf() -> impl Strategy<Value = serde_json::Value> {
    let text = prop::sample::select(vec!["xy", "xyz", "b", "d", "1", "10", "x\"y", "a/b", "é"]);
    let leaf = prop_oneof![
        5 => text.prop_map(|s| serde_json::Value::String(s.to_string())),
        1 => Just(serde_json::Value::Null),
        1 => any::<bool>().prop_map(serde_json::Value::Bool),
        1 => prop::sample::select(vec![0i64, 1, 2, 10, 1000]).prop_map(|n| serde_json::json!(n)),
        1 => prop::sample::select(vec![1.5f64, 1e3, 0.001]).prop_map(|f| serde_json::json!(f)),
    ];
    leaf
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::Array),
            prop::collection::vec((prop::sample::select(vec!["a", "b", "c"]), inner), 0..4)
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

fn message() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        "ERROR",
        "ARGUMENTS",
        "a",
        "b",
        "c",
        "a b",
        "\"a b\"",
        "[a b]",
        "xy",
        "xyz",
        "1",
        "5",
        "x\\y",
    ]);
    let value = prop_oneof![3 => json_leaf(), 1 => json_value()];
    let object = prop::collection::vec((prop::sample::select(vec!["a", "b", "c"]), value), 0..4)
        .prop_map(|kv| serde_json::Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
        .boxed();
    prop_oneof![
        "[ abcxyERORAGUMNTS1\"\\[\\]]{0,20}",
        prop::collection::vec(word, 0..5).prop_map(|w| w.join(" ")),
        object.clone().prop_map(|v| v.to_string()),
        // JSON with text spelled through \u escapes.
        object.prop_map(|v| v.to_string().replace('b', "\\u0062").replace('y', "\\u0079")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn prefilter_is_sound(m in message()) {
        for f in patterns_for_soundness() {
            if f.matches(&m) {
                let pre = f.prefilter();
                if !(pre.unless_backslash && m.contains('\\')) {
                    for lit in &pre.all_of {
                        prop_assert!(m.contains(lit.as_str()), "{:?} misses {:?}", m, lit);
                    }
                }
            }
        }
    }

    #[test]
    fn parse_never_panics(text in "[ {}\\[\\]()$.*\"%=!<>&|?,\\\\'aE1_:-]{0,40}", m in message()) {
        if let Ok(f) = FilterPattern::parse(&text) {
            let _ = f.matches(&m);
            let _ = f.prefilter();
        }
    }

    #[test]
    fn parse_never_panics_on_any_text(text in any::<String>()) {
        if let Ok(f) = FilterPattern::parse(&text) {
            let _ = f.matches(&text);
        }
    }

    #[test]
    fn quoted_term_matches_its_text(s in any::<String>().prop_filter("non-empty", |s| !s.is_empty()), pre in ".{0,5}", post in ".{0,5}") {
        let pattern = format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let f = FilterPattern::parse(&pattern).unwrap();
        let message = format!("{pre}{s}{post}");
        prop_assert!(f.matches(&message));
        prop_assert!(f.prefilter().all_of.iter().all(|l| message.contains(l.as_str())));
    }
}
