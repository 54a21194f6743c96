// A Sync Map scenario driven by the official Node helper library (twilio@6.2.0)
// against the pytest-syncmap emulator. Run by tests/test_node_client.py.
//
//   BASE_URL=http://127.0.0.1:PORT ACCOUNT_SID=AC... AUTH_TOKEN=... node sync_scenario.js
//
// Prints one JSON summary on stdout and exits 0, or explains the first unexpected
// result on stderr and exits 1. Uses items(key).update()/.remove() throughout: in 6.2.0
// instances returned by create() and list() lack their key and cannot update or remove.
"use strict";

const twilio = require("twilio");

const { BASE_URL, ACCOUNT_SID, AUTH_TOKEN } = process.env;
const KEYS = ["k1", "k2", "k3", "k4", "k5"];

class ScenarioError extends Error {}

function check(condition, message, detail) {
  if (!condition) {
    const suffix = detail === undefined ? "" : `: ${JSON.stringify(detail)}`;
    throw new ScenarioError(message + suffix);
  }
}

function same(actual, expected) {
  return JSON.stringify(actual) === JSON.stringify(expected);
}

// Run `action`, which must reject with a RestException of this status and code.
async function expectRestError(step, action, status, code) {
  let error;
  try {
    await action();
  } catch (err) {
    error = err;
  }
  check(error !== undefined, `${step}: expected HTTP ${status}/${code}, but it succeeded`);
  check(
    error instanceof twilio.RestException,
    `${step}: expected a RestException, got ${error && error.constructor && error.constructor.name}`,
    String(error && error.stack),
  );
  check(
    error.status === status && error.code === code,
    `${step}: expected HTTP ${status} code ${code}`,
    { status: error.status, code: error.code, message: error.message },
  );
  return { step, status: error.status, code: error.code, message: error.message };
}

async function main() {
  for (const [name, value] of Object.entries({ BASE_URL, ACCOUNT_SID, AUTH_TOKEN })) {
    check(value, `environment variable ${name} is required`);
  }
  const client = twilio(ACCOUNT_SID, AUTH_TOKEN);
  client.sync.baseUrl = BASE_URL;
  const summary = { library: require("twilio/package.json").version, errors: [] };

  const service = await client.sync.v1.services.create({ friendlyName: "node scenario" });
  check(/^IS[0-9a-f]{32}$/.test(service.sid), "service SID", service.sid);
  summary.service = service.sid;

  const maps = client.sync.v1.services(service.sid).syncMaps;
  const map = await maps.create({ uniqueName: "node-map" });
  check(/^MP[0-9a-f]{32}$/.test(map.sid), "map SID", map.sid);
  check(map.uniqueName === "node-map", "map uniqueName", map.uniqueName);
  check(map.url.startsWith(BASE_URL), "map url points at the emulator", map.url);
  summary.map = { sid: map.sid, uniqueName: map.uniqueName };

  const items = maps(map.sid).syncMapItems;
  for (const [i, key] of KEYS.entries()) {
    const created = await items.create({ key, data: { n: i + 1, name: `item ${key}` } });
    check(created.key === key, "created key", created.key);
    check(same(created.data, { n: i + 1, name: `item ${key}` }), "created data", created.data);
    check(created.mapSid === map.sid, "created mapSid", created.mapSid);
  }
  summary.created = KEYS.slice();

  // Fetch, then a conditional update with the fetched revision.
  const fetched = await items("k1").fetch();
  check(fetched.key === "k1" && same(fetched.data, { n: 1, name: "item k1" }), "fetch k1", fetched);
  const stale = fetched.revision;
  const updated = await items("k1").update({ data: { n: 10 }, ifMatch: stale });
  check(same(updated.data, { n: 10 }), "updated data", updated.data);
  check(updated.revision !== stale, "update must change the revision", updated.revision);
  summary.update = { before: stale, after: updated.revision, data: updated.data };

  // The same stale revision again: 412 / 54205, and nothing changes.
  summary.errors.push(
    await expectRestError(
      "update with stale ifMatch",
      () => items("k1").update({ data: { n: 99 }, ifMatch: stale }),
      412,
      54205,
    ),
  );
  const afterConflict = await items("k1").fetch();
  check(same(afterConflict.data, { n: 10 }), "a refused update must not write", afterConflict.data);
  check(afterConflict.revision === updated.revision, "revision after refused update", afterConflict.revision);

  // Paging: pageSize 2 over 5 items is 3 pages; list() follows them all.
  const listed = await items.list({ pageSize: 2 });
  summary.listed = listed.map((item) => item.key);
  check(same(summary.listed, KEYS), "list({pageSize: 2}) keys in order", summary.listed);
  check(same(listed[0].data, { n: 10 }), "listed k1 data", listed[0].data);
  const limited = await items.list({ pageSize: 2, limit: 3 });
  summary.limited = limited.map((item) => item.key);
  check(same(summary.limited, KEYS.slice(0, 3)), "list({pageSize: 2, limit: 3})", summary.limited);
  const page = await items.page({ pageSize: 2 });
  summary.firstPage = page.instances.map((item) => item.key);
  check(same(summary.firstPage, ["k1", "k2"]), "first page", summary.firstPage);
  const second = await page.nextPage();
  check(second, "a second page must exist");
  summary.secondPage = second.instances.map((item) => item.key);
  check(same(summary.secondPage, ["k3", "k4"]), "second page", summary.secondPage);
  const desc = await items.list({ order: "desc", pageSize: 2 });
  summary.desc = desc.map((item) => item.key);
  check(same(summary.desc, KEYS.slice().reverse()), "list({order: 'desc'})", summary.desc);

  // Deletes: unconditional, conditional with a stale revision (412), conditional with
  // the current one.
  const removedK2 = await items("k2").remove();
  check(removedK2 === true, "remove() resolves true", removedK2);
  summary.errors.push(
    await expectRestError(
      "remove with stale ifMatch",
      () => items("k1").remove({ ifMatch: stale }),
      412,
      54205,
    ),
  );
  const stillThere = await items("k1").fetch();
  check(same(stillThere.data, { n: 10 }), "a refused delete must not delete", stillThere.data);
  const removedK1 = await items("k1").remove({ ifMatch: updated.revision });
  check(removedK1 === true, "conditional remove() resolves true", removedK1);
  summary.deleted = ["k2", "k1"];

  summary.errors.push(
    await expectRestError("fetch deleted", () => items("k2").fetch(), 404, 54201),
  );
  summary.errors.push(
    await expectRestError("fetch conditionally deleted", () => items("k1").fetch(), 404, 54201),
  );

  const remaining = await items.list({ pageSize: 2 });
  summary.remaining = remaining.map((item) => item.key);
  check(same(summary.remaining, ["k3", "k4", "k5"]), "keys after deletes", summary.remaining);
  return summary;
}

main().then(
  (summary) => {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  },
  (err) => {
    const what = err instanceof ScenarioError ? "unexpected result" : "unexpected error";
    process.stderr.write(`sync_scenario.js: ${what}: ${err instanceof ScenarioError ? err.message : err.stack || err}\n`);
    if (err instanceof twilio.RestException) {
      process.stderr.write(`  status=${err.status} code=${err.code} moreInfo=${err.moreInfo}\n`);
    }
    process.exitCode = 1;
  },
);
