// Loaded with `node --require` by tests/peers/emulator.py. The emulator's HTTP servers
// listen without naming a host, which Node takes as every interface; a test peer must
// be reachable from this machine only, so a listen() without a host gets 127.0.0.1.
"use strict";
const net = require("node:net");

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const hostless =
    typeof args[0] === "number" &&
    (args.length === 1 || args[1] === undefined || typeof args[1] === "function");
  if (hostless) {
    // listen(port), listen(port, undefined, cb) and listen(port, cb) all become
    // listen(port, "127.0.0.1", cb).
    args.splice(1, args[1] === undefined && args.length > 1 ? 1 : 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};
