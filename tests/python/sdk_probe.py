"""Drives Kingdee's official Python SDK (kingdee-cdp-webapi-sdk 8.2.0), unchanged, against a
server and prints what it saw as one JSON object on stdout. Used by tests/e2e/mock_sdk.rs.

Usage: python sdk_probe.py '<json request>'
The request holds the identity (url, acct, user, app_id, app_secret, lcid) and a "scenario":
  page  - pages ExecuteBillQuery ("form", default BD_MATERIAL) with StartRow += Limit until a
          short page; prints the rows
  call  - calls one service ("service", "data", "times" times); prints each raw answer or error
"""
import json
import sys

from k3cloud_webapi_sdk.main import K3CloudApiSdk


def make_sdk(req):
    sdk = K3CloudApiSdk(req["url"])
    sdk.InitConfig(req["acct"], req["user"], req["app_id"], req["app_secret"],
                   server_url=req["url"], lcid=req.get("lcid", 2052))
    return sdk


def page(sdk, req):
    limit = req["limit"]
    rows, pages, start = [], [], 0
    while True:
        data = {"FormId": req.get("form", "BD_MATERIAL"), "FieldKeys": req["field_keys"],
                "FilterString": req["filter"], "OrderString": req["order"],
                "TopRowCount": 0, "StartRow": start, "Limit": limit}
        text = sdk.ExecuteBillQuery(data)
        got = json.loads(text)
        if got and isinstance(got[0], list) and got[0] and isinstance(got[0][0], dict):
            raise RuntimeError("error body while paging: " + text)
        pages.append(len(got))
        rows.extend(got)
        if len(got) < limit:
            break
        start += limit
    return {"pages": pages, "rows": rows}


def call(sdk, req):
    method = getattr(sdk, req["service"])
    data = req["data"]
    if req.get("as_string"):
        data = json.dumps(data)
    calls = []
    for _ in range(req.get("times", 1)):
        try:
            calls.append({"text": method(data)})
        except RuntimeError as err:
            calls.append({"error_type": type(err).__name__, "error": str(err)})
    return {"calls": calls, "sid": sdk.cookiesStore.SID,
            "cookies": sorted(c.ToString() for c in sdk.cookiesStore.cookies.values())}


def main():
    req = json.loads(sys.argv[1])
    sdk = make_sdk(req)
    out = {"page": page, "call": call}[req["scenario"]](sdk, req)
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
