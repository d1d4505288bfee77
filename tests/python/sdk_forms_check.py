"""Kingdee's official Python SDK (kingdee-cdp-webapi-sdk 8.2.0), unchanged, against a running
kingdee-mock for BD_Customer and BD_Supplier: pages each form with ExecuteBillQuery, checks
the rows against GET /_mock/rows?form=… (worked out here, not by the mock's filter), and reads
BillQuery objects, QueryBusinessInfo and an unknown field's error through the SDK.

Usage: python sdk_forms_check.py http://127.0.0.1:8090   (the mock's base URL, demo identity)
Exits 1 with the first mismatch; prints a JSON summary on success.
"""
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sdk_probe import make_sdk, page  # noqa: E402

IDENTITY = {"acct": "5f0c1234abcd12", "user": "webapi",
            "app_id": "123456_X1bR5mV0cT2kQ9wLz7HsN4pYe8uJa3Df",
            "app_secret": "0123456789abcdef0123456789abcdef", "lcid": 2052}
JOB = "FUseOrgId.FNumber = 'T00' AND FDocumentStatus = 'C' AND FForbidStatus = 'A'"
FORMS = {
    "BD_Customer": ("FCUSTID", "FCUSTID,FNumber,FName,FShortName,FCOUNTRY.FNumber,FTEL,FADDRESS,"
                    "FTaxRegisterCode,FSELLER.FName,FTRADINGCURRID.FNumber,FUseOrgId.FNumber,"
                    "FDocumentStatus,FForbidStatus,FModifyDate,FApproveDate"),
    "BD_Supplier": ("FSupplierId", "FSupplierId,FNumber,FName,FShortName,FGroup.FNumber,"
                    "FSupplyClassify,FCountry.FName,FContact,FTel,FTaxRegisterCode,"
                    "FPayCurrencyId.FNumber,FUseOrgId.FNumber,FDocumentStatus,FForbidStatus,"
                    "FModifyDate,FForbidDate"),
}


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check_form(sdk, base, form, pk, keys):
    got = page(sdk, {"form": form, "field_keys": keys, "filter": JOB,
                     "order": pk + " ASC", "limit": 300})
    with urllib.request.urlopen(base + "/_mock/rows?form=" + form) as r:
        truth = json.load(r)
    expected = [t for t in truth if t["FUseOrgId.FNumber"] == "T00"
                and t["FDocumentStatus"] == "C" and t["FForbidStatus"] == "A"]
    if not expected or len(expected) == len(truth):
        fail(f"{form}: the filter should keep some rows, not all ({len(expected)}/{len(truth)})")
    rows = got["rows"]
    if len(rows) != len(expected):
        fail(f"{form}: the SDK paged {len(rows)} rows, /_mock/rows filters to {len(expected)}")
    names = keys.split(",")
    for row, want in zip(rows, expected):
        for i, key in enumerate(names):
            if row[i] != want[key]:
                fail(f"{form} {pk}={want[pk]}: {key} is {row[i]!r}, /_mock/rows has {want[key]!r}")
    pages = got["pages"]
    if any(n != 300 for n in pages[:-1]) or pages[-1] >= 300:
        fail(f"{form}: pages {pages}")

    objs = json.loads(sdk.BillQuery({"FormId": form.lower(),
                                     "FieldKeys": pk.lower() + ",fnumber,FUseOrgId.FName",
                                     "OrderString": pk + " DESC", "Limit": 3}))
    if [list(o) for o in objs] != [[pk.lower(), "fnumber", "FUseOrgId.FName"]] * 3:
        fail(f"{form}: BillQuery keys {objs}")
    if objs[0][pk.lower()] != truth[-1][pk]:
        fail(f"{form}: BillQuery DESC starts at {objs[0]}, the last row is {truth[-1][pk]}")

    info = json.loads(sdk.QueryBusinessInfo({"FormId": form}))
    meta = info["Result"]["NeedReturnData"]
    if meta["Id"] != form or meta["PkFieldName"] != pk.upper():
        fail(f"{form}: QueryBusinessInfo {meta['Id']} {meta['PkFieldName']}")
    fields = [f["Key"] for f in meta["Entrys"][0]["Fields"]]
    for key in names:
        if key.split(".")[0] not in fields:
            fail(f"{form}: QueryBusinessInfo lacks {key}")

    bad = json.loads(sdk.ExecuteBillQuery({"FormId": form, "FieldKeys": pk + ",FMaterialId"}))
    status = bad[0][0]["Result"]["ResponseStatus"]
    if status["MsgCode"] != 9 or "FMaterialId" not in status["Errors"][0]["Message"]:
        fail(f"{form}: an unknown field answered {status}")
    return {"rows": len(rows), "of": len(truth), "pages": len(pages), "fields": len(fields)}


def main():
    base = sys.argv[1].rstrip("/")
    sdk = make_sdk(dict(IDENTITY, url=base + "/k3cloud/"))
    out = {form: check_form(sdk, base, form, pk, keys) for form, (pk, keys) in FORMS.items()}
    json.dump(out, sys.stdout, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
