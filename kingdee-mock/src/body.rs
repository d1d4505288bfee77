//! Request bodies in every shape clients send (§3): `{"data":{…}}`, `{"formid":…,"data":…}`,
//! `data` as a JSON string, the positional `{"parameters":[…]}` and the old envelope with
//! `format`/`useragent`/`rid`. Keys are matched case-insensitively and numbers sent as strings
//! are coerced, as the real (Newtonsoft-based) server does.

use serde_json::{Map, Value};

/// Parses a body; an empty one is an empty object. Python's `\uXXXX` escapes decode as usual.
pub fn parse(bytes: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("body is not UTF-8: {e}"))?;
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_str(text).map_err(|e| format!("body is not JSON: {e}"))
}

/// Looks a key up ignoring ASCII case.
pub fn get_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// An object, or a string holding a JSON object.
fn as_object(v: &Value) -> Option<Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m.clone()),
        Value::String(s) => match serde_json::from_str(s) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        },
        _ => None,
    }
}

/// The `data` object of a query-like service (ExecuteBillQuery, BillQuery, QueryBusinessInfo),
/// with `FormId` filled in from a top-level `formid` or a positional form id when missing.
pub fn service_data(body: &Value) -> Result<Map<String, Value>, String> {
    let top = match body {
        Value::String(_) => as_object(body).ok_or("body is a string but not a JSON object")?,
        Value::Object(m) => m.clone(),
        _ => return Err("body is not a JSON object".to_owned()),
    };
    let mut form_id = get_ci(&top, "formid")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let data = if let Some(d) = get_ci(&top, "data") {
        as_object(d).ok_or("data is neither an object nor a JSON string of one")?
    } else if let Some(Value::Array(params)) = get_ci(&top, "parameters") {
        let pos = params
            .iter()
            .rposition(|p| as_object(p).is_some())
            .ok_or("parameters hold no data object")?;
        if let Some(id) = params[..pos].iter().rev().find_map(Value::as_str) {
            form_id.get_or_insert_with(|| id.to_owned());
        }
        as_object(&params[pos]).ok_or("parameters hold no data object")?
    } else if get_ci(&top, "FormId").is_some() {
        top.clone()
    } else {
        return Err("the body has no data".to_owned());
    };
    let mut data = data;
    if let Some(id) = form_id.filter(|_| get_ci(&data, "FormId").is_none()) {
        data.insert("FormId".to_owned(), Value::String(id));
    }
    Ok(data)
}

/// Arguments of a login service: positional (`parameters`) or named keys.
pub fn arguments(body: &Value, names: &[&str]) -> Vec<Option<Value>> {
    let empty = Map::new();
    let top = body.as_object().unwrap_or(&empty);
    if let Some(Value::Array(params)) = get_ci(top, "parameters") {
        // Some clients wrap the positional list in a JSON string.
        let params = match params.as_slice() {
            [Value::String(s)] => match serde_json::from_str::<Value>(s) {
                Ok(Value::Array(a)) => a,
                _ => params.clone(),
            },
            _ => params.clone(),
        };
        return (0..names.len()).map(|i| params.get(i).cloned()).collect();
    }
    names.iter().map(|n| get_ci(top, n).cloned()).collect()
}

/// A string argument (numbers are given as their text).
pub fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// An integer that may be sent as a number or a string; missing or null is 0.
pub fn int(v: Option<&Value>) -> Option<i64> {
    match v {
        None | Some(Value::Null) => Some(0),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Some(Value::String(s)) if s.trim().is_empty() => Some(0),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(body: Value) -> Option<String> {
        let d = service_data(&body).expect("data found");
        get_ci(&d, "formid")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    #[test]
    fn every_body_shape_yields_the_data_object() {
        let data = json!({"FormId": "BD_MATERIAL", "FieldKeys": "FNumber"});
        let s = data.to_string();
        assert_eq!(form(json!({"data": data})), Some("BD_MATERIAL".into()));
        assert_eq!(form(json!({"data": s})), Some("BD_MATERIAL".into()));
        assert_eq!(form(json!({"parameters": [s]})), Some("BD_MATERIAL".into()));
        let bare = json!({"FieldKeys": "FNumber"}).to_string();
        assert_eq!(
            form(json!({"parameters": ["BD_MATERIAL", bare]})),
            Some("BD_MATERIAL".into())
        );
        assert_eq!(
            form(json!({"formid": "BD_MATERIAL", "data": {"FieldKeys": "x"}})),
            Some("BD_MATERIAL".into())
        );
        let old = json!({"format": 1, "useragent": "ApiClient", "rid": "1", "v": "1.0",
            "timestamp": "2024-01-01", "parameters": ["BD_MATERIAL", bare]});
        assert_eq!(form(old), Some("BD_MATERIAL".into()));
        assert_eq!(
            form(json!({"FORMID": "BD_MATERIAL", "fieldkeys": "x"})),
            Some("BD_MATERIAL".into())
        );
        assert!(service_data(&json!({"foo": 1})).is_err());
        assert!(service_data(&json!([1])).is_err());
    }

    #[test]
    fn python_escaped_bodies_parse() {
        let v = parse(br#"{"data": {"FilterString": "FName = '\u87ba\u4e1d'"}}"#).expect("json");
        assert_eq!(v["data"]["FilterString"], "FName = '螺丝'");
        assert_eq!(parse(b"").expect("empty"), json!({}));
        assert!(parse(b"{").is_err());
    }

    #[test]
    fn numbers_given_as_strings_are_coerced() {
        assert_eq!(int(Some(&json!("2000"))), Some(2000));
        assert_eq!(int(Some(&json!(" 0 "))), Some(0));
        assert_eq!(int(Some(&json!(""))), Some(0));
        assert_eq!(int(Some(&json!(5.0))), Some(5));
        assert_eq!(int(None), Some(0));
        assert!(int(Some(&json!("ten"))).is_none());
        assert!(int(Some(&json!(1.5))).is_none());
    }

    #[test]
    fn login_arguments_come_named_or_positional() {
        let names = ["acctid", "username", "password", "lcid"];
        let named = json!({"acctID": "a", "username": "u", "password": "p", "lcid": 2052});
        let pos = json!({"parameters": ["a", "u", "p", 2052]});
        for body in [named, pos] {
            let args = arguments(&body, &names);
            assert_eq!(text(args[0].as_ref()), "a");
            assert_eq!(int(args[3].as_ref()), Some(2052));
        }
    }
}
