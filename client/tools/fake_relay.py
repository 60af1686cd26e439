#!/usr/bin/python3
"""Development stand-in for the relay: speaks WHIP and WHEP with webrtcbin on the other side.

Not the relay and not a forwarder: a WHIP publisher's media is decoded and counted here, and
every WHEP subscriber gets a locally generated test stream (H.264 + Opus). It exists to
exercise classrelay-client's signalling, ICE, DTLS and decoding before the real relay runs.

    fake_relay.py --listen 127.0.0.1:8080 [--ice-ip 127.0.0.1]

Needs python3-gi with GStreamer 1.22 typelibs (Gst, GstWebRTC, GstSdp, Soup 3).
POST /whip/<class> -> 201 + Location; POST /whep/<class> -> 201, or 404 when no publisher;
DELETE <Location> -> 200.
"""
import argparse
import itertools
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("Soup", "3.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC, Soup  # noqa: E402

Gst.init(None)
ids = itertools.count(1)
sessions = {}   # resource path -> Session
publishers = {}  # class id -> resource path

SEND = ("videotestsrc is-live=true pattern=ball ! video/x-raw,width=1280,height=720,framerate=30/1"
        " ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=60 bitrate=1500"
        " ! video/x-h264,profile=constrained-baseline ! rtph264pay config-interval=-1 pt=96"
        " ! application/x-rtp,media=video,encoding-name=H264,payload=96 ! w. "
        "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc"
        " ! rtpopuspay pt=111 ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! w.")


class Session:
    def __init__(self, kind, cls, ice_ip):
        self.kind, self.cls, self.frames = kind, cls, 0
        desc = "webrtcbin name=w bundle-policy=max-bundle"
        if kind == "whep":
            desc += " " + SEND
        self.pipe = Gst.parse_launch(desc)
        if not isinstance(self.pipe, Gst.Pipeline):  # a lone element is returned as itself
            self.w, self.pipe = self.pipe, Gst.Pipeline.new(None)
            self.pipe.add(self.w)
        else:
            self.w = self.pipe.get_by_name("w")
        if ice_ip:
            self.ice = self.w.get_property("ice-agent")  # keep: pygobject may drop the only ref
            self.ice.emit("add-local-ip-address", ice_ip)
        self.w.connect("pad-added", self.on_pad)
        self.w.connect("notify::connection-state", lambda w, p: print(
            f"{kind} {cls}: {w.get_property('connection-state').value_nick}", flush=True))
        self.pipe.set_state(Gst.State.PLAYING)

    def on_pad(self, w, pad):
        if pad.direction != Gst.PadDirection.SRC:
            return
        media = pad.get_current_caps().get_structure(0).get_string("media")
        chain = ("rtph264depay ! avdec_h264 name=dec ! fakesink" if media == "video"
                 else "rtpopusdepay ! opusdec ! fakesink")
        b = Gst.parse_bin_from_description("queue ! " + chain, True)
        self.pipe.add(b)
        b.sync_state_with_parent()
        pad.link(b.get_static_pad("sink"))
        dec = b.get_by_name("dec")
        if dec:
            def count(p, info):
                self.frames += 1
                return Gst.PadProbeReturn.OK
            dec.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, count)

    def answer(self, offer_text, done):
        _, sdp = GstSdp.SDPMessage.new_from_text(offer_text)
        offer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, sdp)

        def gathered(w, _p):
            if w.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
                text = w.get_property("local-description").sdp.as_text()
                GLib.idle_add(done, text)

        def on_answer(p):
            r = p.get_reply()
            ans = r.get_value("answer") if r else None
            if ans is None:
                print(f"create-answer failed: {r.to_string() if r else None}", flush=True)
                return
            self.w.connect("notify::ice-gathering-state", gathered)
            self.w.emit("set-local-description", ans, None)

        def on_remote(p):
            r = p.get_reply()
            if r and r.has_field("error"):
                print(f"set-remote-description failed: {r.to_string()}", flush=True)
            self.w.emit("create-answer", None, Gst.Promise.new_with_change_func(on_answer))

        self.w.emit("set-remote-description", offer, Gst.Promise.new_with_change_func(on_remote))

    def close(self):
        self.pipe.set_state(Gst.State.NULL)


def reply(msg, status, body=b"", ctype="text/plain", location=None):
    msg.set_status(status, None)
    if location:
        msg.get_response_headers().append("Location", location)
    msg.set_response(ctype, Soup.MemoryUse.COPY, body)


def handler(server, msg, path, query, args):
    method = msg.get_method()
    parts = path.strip("/").split("/")
    if method == "DELETE" and path in sessions:
        s = sessions.pop(path)
        if publishers.get(s.cls) == path:
            del publishers[s.cls]
        print(f"DELETE {path} ({s.kind}, frames decoded here: {s.frames})", flush=True)
        s.close()
        return reply(msg, 200)
    if method != "POST" or len(parts) != 2 or parts[0] not in ("whip", "whep"):
        return reply(msg, 404, b"no such resource")
    kind, cls = parts
    if kind == "whep" and cls not in publishers:
        return reply(msg, 404, f"class '{cls}' is not live".encode())
    if kind == "whip" and cls in publishers:
        return reply(msg, 409, b'{"error": "class already has a teacher"}', "application/json")
    auth = msg.get_request_headers().get_one("Authorization")
    body = msg.get_request_body().flatten().get_data().decode()
    print(f"POST {path} auth={auth!r}, offer has {body.count('a=candidate')} candidate(s)",
          flush=True)
    s = Session(kind, cls, args.ice_ip)
    res = f"/{kind}/{cls}/{next(ids)}"
    sessions[res] = s
    if kind == "whip":
        publishers[cls] = res
    msg.pause()

    def done(answer):
        # WHEP gets a relative Location, WHIP an absolute path: clients must resolve both
        loc = f"{cls}/{res.split('/')[-1]}" if kind == "whep" else res
        reply(msg, 201, answer.encode(), "application/sdp", loc)
        msg.unpause()
        return False
    s.answer(body, done)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:8080")
    ap.add_argument("--ice-ip", default=None)
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)
    server = Soup.Server()
    server.add_handler(None, handler, args)
    from gi.repository import Gio
    server.listen(Gio.InetSocketAddress.new_from_string(host, int(port)), 0)
    print(f"fake relay on {args.listen}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    sys.exit(main())
