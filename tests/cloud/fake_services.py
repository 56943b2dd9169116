#!/usr/bin/env python3
"""fake_services.py - fake EC2 IMDSv2, Azure IMDS and Azure WireServer for
tests/cloud/ternsim_cloud.sh, written from PROTOCOLS.md D.5/D.6 (not from
cloud/).  Every request is logged as one JSON line to --log.

  --mode aws    IMDSv2 on --imds: PUT /latest/api/token needs
                X-aws-ec2-metadata-token-ttl-seconds in 1..21600 and no
                X-Forwarded-For; GETs need the token (401 otherwise; a GET
                without the header is logged tokenless=true).
  --mode azure  IMDS on --imds (needs Metadata: true) and WireServer on
                --ws (needs x-ms-version: 2012-11-30; the incarnation
                grows with every goal-state fetch; a health report must
                carry the latest incarnation, the container and instance
                ids, and a State; --health-500 N answers the first N
                reports with 500).
Only binds the addresses given (inside the test's network namespace).
"""
import argparse, base64, json, re, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTAINER = "c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2"
INSTANCE = "4e7bc4a4-1d2b-4b1b-a7c8-2a5d2e8f6b3c.tern-vm"
VMID = "02aab8a4-74ef-476e-8182-f6d2ba4166a6"

lock = threading.RLock()
state = {"token": 0, "incarnation": 0, "health_500": 0}


def make_handler(svc, args, logf):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, body=b"", ev=None):
            ev = dict(ev or {})
            ev.update(svc=svc, method=self.command, path=self.path, status=status)
            with lock:
                logf.write(json.dumps(ev) + "\n")
                logf.flush()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def body(self):
            n = int(self.headers.get("Content-Length", "0"))
            return self.rfile.read(n) if n > 0 else b""

        def do_PUT(self):
            self.body()
            if svc != "imds-aws" or self.path != "/latest/api/token":
                return self.reply(405)
            if self.headers.get("X-Forwarded-For") is not None:
                return self.reply(403, ev={"xff": True})
            try:
                ttl = int(self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", ""))
            except ValueError:
                ttl = 0
            if not 1 <= ttl <= 21600:
                return self.reply(400, ev={"bad_ttl": True})
            with lock:
                state["token"] += 1
                tok = "AQAEPyFakeToken%04d==" % state["token"]
            return self.reply(200, tok.encode(), {"ttl": ttl})

        def do_GET(self):
            if svc == "imds-aws":
                tok = self.headers.get("X-aws-ec2-metadata-token")
                if tok is None:
                    return self.reply(401, ev={"tokenless": True})
                if tok != "AQAEPyFakeToken%04d==" % state["token"]:
                    return self.reply(401, ev={"bad_token": True})
                items = {
                    "/latest/meta-data/instance-id": "i-0123456789abcdef0",
                    "/latest/meta-data/instance-type": "t3.micro",
                    "/latest/meta-data/placement/region": "eu-central-1",
                    "/latest/meta-data/local-ipv4": "169.254.0.10",
                }
                if self.path == "/latest/user-data":
                    if args.userdata is None:
                        return self.reply(404)
                    return self.reply(200, open(args.userdata, "rb").read())
                if self.path in items:
                    return self.reply(200, items[self.path].encode())
                return self.reply(404)
            if svc == "imds-azure":
                if self.headers.get("Metadata") != "true":
                    return self.reply(400, ev={"no_metadata_header": True})
                if not self.path.startswith("/metadata/instance?api-version="):
                    return self.reply(404)
                ud = open(args.userdata, "rb").read() if args.userdata else b""
                doc = {"compute": {"vmId": VMID, "location": "northeurope",
                                   "vmSize": "Standard_B1s", "name": "tern-vm",
                                   "userData": base64.b64encode(ud).decode(),
                                   "tagsList": []},
                       "network": {"interface": []}}
                return self.reply(200, json.dumps(doc).encode())
            # WireServer
            if self.headers.get("x-ms-version") != "2012-11-30":
                return self.reply(400, ev={"no_version_header": True})
            if self.path != "/machine/?comp=goalstate":
                return self.reply(404)
            with lock:
                state["incarnation"] += 1
                inc = state["incarnation"]
            gs = ('<?xml version="1.0" encoding="utf-8"?>\n'
                  '<GoalState xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
                  '  <Version>2015-04-05</Version>\n'
                  '  <Incarnation>%d</Incarnation>\n'
                  '  <Machine><ExpectedState>Started</ExpectedState></Machine>\n'
                  '  <Container>\n    <ContainerId>%s</ContainerId>\n'
                  '    <RoleInstanceList><RoleInstance>\n'
                  '      <InstanceId>%s</InstanceId>\n      <State>Started</State>\n'
                  '    </RoleInstance></RoleInstanceList>\n  </Container>\n'
                  '</GoalState>\n') % (inc, CONTAINER, INSTANCE)
            return self.reply(200, gs.encode(), {"incarnation": inc})

        def do_POST(self):
            b = self.body().decode("utf-8", "replace")
            if svc != "wireserver" or self.path != "/machine?comp=health":
                return self.reply(404)
            if self.headers.get("x-ms-version") != "2012-11-30":
                return self.reply(400, ev={"no_version_header": True})
            if not self.headers.get("Content-Type", "").startswith("text/xml"):
                return self.reply(400, ev={"bad": "content_type"})
            with lock:
                if state["health_500"] < args.health_500:
                    state["health_500"] += 1
                    return self.reply(500, ev={"injected": True})
                inc = state["incarnation"]

            def field(tag):
                m = re.search("<%s>([^<]*)</%s>" % (tag, tag), b)
                return m.group(1) if m else None
            ev = {"incarnation": field("GoalStateIncarnation"),
                  "container": field("ContainerId"), "instance": field("InstanceId"),
                  "state": field("State"), "substatus": field("SubStatus"),
                  "description": field("Description")}
            if ev["incarnation"] != str(inc):
                ev["bad"] = "incarnation"
            elif ev["container"] != CONTAINER:
                ev["bad"] = "container"
            elif ev["instance"] != INSTANCE:
                ev["bad"] = "instance"
            elif ev["state"] not in ("Ready", "NotReady"):
                ev["bad"] = "state"
            elif ev["state"] == "NotReady" and ev["substatus"] != "ProvisioningFailed":
                ev["bad"] = "substatus"
            return self.reply(400 if "bad" in ev else 200, ev=ev)
    return H


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["aws", "azure"], required=True)
    ap.add_argument("--imds", default="169.254.169.254")
    ap.add_argument("--ws", default="168.63.129.16")
    ap.add_argument("--userdata")
    ap.add_argument("--health-500", type=int, default=0)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    logf = open(args.log, "a")
    servers = [ThreadingHTTPServer((args.imds, 80), make_handler(
        "imds-aws" if args.mode == "aws" else "imds-azure", args, logf))]
    if args.mode == "azure":
        servers.append(ThreadingHTTPServer((args.ws, 80),
                                           make_handler("wireserver", args, logf)))
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("fake services up", flush=True)
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
