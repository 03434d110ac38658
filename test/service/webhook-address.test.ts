/**
 * The webhook address policy (SSRF): which addresses and URLs are refused, at registration and
 * again at the connection (a name that resolves to loopback is caught when connecting), and the
 * retry schedule.
 */
import { describe, expect, it } from "vitest";
import { refusedAddress, refusedEndpoint, refusedUrl } from "../../src/service/webhooks/address.js";
import { sendDelivery } from "../../src/service/webhooks/deliver.js";
import { nextTryAt } from "../../src/service/webhooks/dispatcher.js";

const strict = { allowInsecure: false };
const insecure = { allowInsecure: true };

describe("refusedAddress", () => {
  it("lets public unicast addresses through, IPv4 and IPv6", () => {
    for (const a of ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
      expect(refusedAddress(a, strict), a).toBeUndefined();
  });

  it("refuses private, loopback, link-local, metadata and other special ranges, naming the range", () => {
    const cases: [string, string][] = [
      ["10.1.2.3", "private"],
      ["172.16.0.1", "private"],
      ["192.168.0.1", "private"],
      ["127.0.0.1", "loopback"],
      ["169.254.169.254", "linkLocal"],
      ["100.100.100.200", "carrierGradeNat"],
      ["0.0.0.0", "unspecified"],
      ["224.0.0.1", "multicast"],
      ["255.255.255.255", "broadcast"],
      ["192.0.2.1", "reserved"],
      ["::1", "loopback"],
      ["::", "unspecified"],
      ["fe80::1", "linkLocal"],
      ["fd00:ec2::254", "uniqueLocal"],
      ["::ffff:10.0.0.1", "private"],
      ["::ffff:127.0.0.1", "loopback"],
      ["64:ff9b::a00:1", "rfc6052"],
      ["2002:a00:1::", "6to4"],
      // IPv4-compatible IPv6, both spellings (the URL parser writes the hex one).
      ["::7f00:1", "ipv4Compatible"],
      ["::a00:1", "ipv4Compatible"],
      ["::808:808", "ipv4Compatible"],
    ];
    for (const [address, range] of cases)
      expect(refusedAddress(address, strict), address).toMatch(
        new RegExp(`not a public address \\(${range}\\b`),
      );
  });

  it("lets loopback through with WEBHOOK_ALLOW_INSECURE, and nothing else more", () => {
    expect(refusedAddress("127.0.0.1", insecure)).toBeUndefined();
    expect(refusedAddress("::1", insecure)).toBeUndefined();
    expect(refusedAddress("10.0.0.1", insecure)).toMatch(/private/);
    expect(refusedAddress("169.254.169.254", insecure)).toMatch(/linkLocal/);
  });
});

describe("refusedUrl and refusedEndpoint", () => {
  it("takes https to public hosts; http only to loopback with WEBHOOK_ALLOW_INSECURE", () => {
    expect(refusedUrl("https://8.8.8.8/hook?x=1", strict)).toBeUndefined();
    expect(refusedUrl("https://example.com/hook", strict)).toBeUndefined(); // a name: resolved later
    expect(refusedUrl("http://8.8.8.8/hook", strict)).toMatch(/expected an https URL/);
    expect(refusedUrl("http://8.8.8.8/hook", insecure)).toMatch(/loopback receivers only/);
    expect(refusedUrl("http://127.0.0.1:8080/hook", insecure)).toBeUndefined();
    expect(refusedUrl("http://127.0.0.1:8080/hook", strict)).toMatch(/expected an https URL/);
    expect(refusedUrl("https://127.0.0.1/", strict)).toMatch(/loopback/);
  });

  it("reads other spellings of an address as the address (the URL parser rewrites them)", () => {
    for (const url of [
      "https://2130706433/",
      "https://0x7f.1/",
      "https://017700000001/",
      "https://[::ffff:7f00:1]/",
    ])
      expect(refusedUrl(url, strict), url).toMatch(/loopback/);
    // new URL rewrites [::127.0.0.1] to [::7f00:1], which ipaddr.js alone calls unicast.
    expect(refusedUrl("https://[::127.0.0.1]/", strict)).toMatch(/ipv4Compatible/);
    expect(refusedUrl("https://[::169.254.169.254]/", strict)).toMatch(/ipv4Compatible/);
    expect(refusedUrl("https://0x0a.0.0.1/", strict)).toMatch(/private/);
  });

  it("refuses other schemes, credentials, fragments and what does not parse", () => {
    expect(refusedUrl("ftp://8.8.8.8/", strict)).toMatch(/expected an https URL, got ftp:/);
    expect(refusedUrl("file:///etc/passwd", strict)).toMatch(/got file:/);
    expect(refusedUrl("https://u:p@8.8.8.8/", strict)).toMatch(/user name or password/);
    expect(refusedUrl("https://8.8.8.8/#x", strict)).toMatch(/fragment/);
    expect(refusedUrl("/relative", strict)).toMatch(/absolute URL/);
    expect(refusedUrl("https://8.8.8.8:0/hook", strict)).toMatch(/port 0/);
    expect(refusedUrl("https://example.com:0/hook", strict)).toMatch(/port 0/);
  });

  it("resolves a name and refuses it when an address it resolves to is refused", async () => {
    expect(await refusedEndpoint("https://localhost/hook", strict)).toMatch(
      /^localhost resolves to (127\.0\.0\.1|::1): .*loopback/,
    );
    expect(await refusedEndpoint("http://localhost:9/hook", insecure)).toBeUndefined();
    expect(await refusedEndpoint("https://no-such-host.invalid/", strict)).toMatch(
      /does not resolve \(ENOTFOUND\)/,
    );
  });
});

describe("sendDelivery", () => {
  it("checks the addresses again when it connects: a name resolving to loopback is refused there", async () => {
    // https to a name passes refusedUrl (nothing resolved yet); the connection's lookup refuses it.
    const result = await sendDelivery(
      "https://localhost:9/hook",
      "msg_1",
      "{}",
      ["whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="],
      {
        ...strict,
        timeoutMs: 5000,
      },
    );
    expect(result).toEqual({
      statusCode: null,
      outcome: expect.stringMatching(/^refused: localhost resolves to (127\.0\.0\.1|::1): .*loopback/),
      delivered: false,
    });
  });

  it("sends nothing to a URL refused as it stands", async () => {
    const result = await sendDelivery("http://10.0.0.1/hook", "msg_1", "{}", ["whsec_AAAA"], {
      ...insecure,
      timeoutMs: 5000,
    });
    expect(result).toEqual({
      statusCode: null,
      outcome: "refused: 10.0.0.1 is not a public address (private)",
      delivered: false,
    });
  });
});

describe("nextTryAt", () => {
  it("waits delaysMs[n - 1] after the n-th failed try, and gives up after the last", () => {
    const delays = [10_000, 60_000, 300_000];
    expect(nextTryAt(1, 1000, delays)).toBe(11_000);
    expect(nextTryAt(2, 1000, delays)).toBe(61_000);
    expect(nextTryAt(3, 1000, delays)).toBe(301_000);
    expect(nextTryAt(4, 1000, delays)).toBeNull();
  });
});
