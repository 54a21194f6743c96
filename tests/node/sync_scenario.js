// A Sync scenario (a Map, a Document, a List and a Stream) driven by the official Node
// helper library (twilio@6.2.0) against the pytest-syncmap emulator. Run by
// tests/test_node_client.py.
//
//   BASE_URL=http://127.0.0.1:PORT ACCOUNT_SID=AC... AUTH_TOKEN=... node sync_scenario.js
//
// Prints one JSON summary on stdout and exits 0, or explains the first unexpected
// result on stderr and exits 1. Uses items(key).update()/.remove() throughout: in 6.2.0
// instances returned by create() and list() lack their key and cannot update or remove.
// List items are addressed the same way, items(index).
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

  await documentScenario(client.sync.v1.services(service.sid), summary);
  await listScenario(client.sync.v1.services(service.sid), summary);
  await streamScenario(client.sync.v1.services(service.sid), summary);
  return summary;
}

// A Document: created with data, replaced (not merged) by a conditional update, a stale
// update refused, listed, fetched by SID.
async function documentScenario(svc, summary) {
  const docs = svc.documents;
  const doc = await docs.create({ uniqueName: "node-doc", data: { state: "ringing", caller: "alice" } });
  check(/^ET[0-9a-f]{32}$/.test(doc.sid), "document SID", doc.sid);
  check(doc.url.startsWith(BASE_URL), "document url points at the emulator", doc.url);
  check(same(doc.data, { state: "ringing", caller: "alice" }), "document data", doc.data);
  const updated = await docs("node-doc").update({ data: { state: "answered" }, ifMatch: doc.revision });
  check(updated.revision !== doc.revision, "document update changes the revision", updated.revision);
  check(same(updated.data, { state: "answered" }), "document data is replaced, not merged", updated.data);
  summary.errors.push(
    await expectRestError(
      "document update with stale ifMatch",
      () => docs("node-doc").update({ data: { state: "lost" }, ifMatch: doc.revision }),
      412,
      54103,
    ),
  );
  const fetched = await docs(doc.sid).fetch();
  check(same(fetched.data, { state: "answered" }), "a refused update must not write", fetched.data);
  const listed = await docs.list();
  check(same(listed.map((d) => d.sid), [doc.sid]), "documents listed", listed.map((d) => d.sid));
  summary.document = {
    sid: doc.sid,
    revisions: [doc.revision, updated.revision],
    data: fetched.data,
  };
}

// A List: six appends (indexes 0..5), an unconditional and a conditional remove leave
// gaps, a conditional update, stale ifMatch refused on update and remove, and listings
// across the gaps in both orders and from an index in a gap.
async function listScenario(svc, summary) {
  const list = await svc.syncLists.create({ uniqueName: "node-list" });
  check(/^ES[0-9a-f]{32}$/.test(list.sid), "list SID", list.sid);
  const items = svc.syncLists("node-list").syncListItems;
  const indexes = [];
  for (let n = 0; n < 6; n += 1) {
    const created = await items.create({ data: { n } });
    check(created.listSid === list.sid, "item listSid", created.listSid);
    indexes.push(created.index);
  }
  check(same(indexes, [0, 1, 2, 3, 4, 5]), "appended indexes", indexes);

  const one = await items(1).fetch();
  const updated = await items(1).update({ data: { n: 10 }, ifMatch: one.revision });
  check(same(updated.data, { n: 10 }), "item data replaced", updated.data);
  summary.errors.push(
    await expectRestError(
      "list item update with stale ifMatch",
      () => items(1).update({ data: { n: 99 }, ifMatch: one.revision }),
      412,
      54155,
    ),
  );
  const removed2 = await items(2).remove();
  check(removed2 === true, "item remove() resolves true", removed2);
  const three = await items(3).fetch();
  summary.errors.push(
    await expectRestError(
      "list item remove with stale ifMatch",
      () => items(3).remove({ ifMatch: one.revision }),
      412,
      54155,
    ),
  );
  const removed3 = await items(3).remove({ ifMatch: three.revision });
  check(removed3 === true, "conditional item remove() resolves true", removed3);
  summary.errors.push(
    await expectRestError("fetch removed list item", () => items(2).fetch(), 404, 54151),
  );

  const asc = await items.list({ pageSize: 2 });
  const desc = await items.list({ order: "desc", pageSize: 2 });
  const fromGap = await items.list({ from: "2", bounds: "inclusive", pageSize: 1 });
  const fromGapDesc = await items.list({ from: "3", order: "desc", pageSize: 1 });
  const firstPage = await items.page({ pageSize: 3 });
  const secondPage = await firstPage.nextPage();
  check(secondPage, "a second list item page must exist");
  const again = await items.create({ data: { n: 6 } });
  summary.list = {
    sid: list.sid,
    revisions: { before: one.revision, after: updated.revision, removed: three.revision },
    asc: asc.map((i) => i.index),
    desc: desc.map((i) => i.index),
    fromGap: fromGap.map((i) => i.index),
    fromGapDesc: fromGapDesc.map((i) => i.index),
    pages: [firstPage.instances.map((i) => i.index), secondPage.instances.map((i) => i.index)],
    appendedAfterRemoves: again.index,
    data: asc.map((i) => i.data),
  };

  const permission = await svc
    .syncLists("node-list")
    .syncListPermissions("alice@example.com")
    .update({ read: true, write: false, manage: false });
  check(permission.identity === "alice@example.com", "permission identity", permission.identity);
  check(permission.url.endsWith("/Permissions/alice%40example.com"), "permission url", permission.url);
  const permissions = await svc.syncLists(list.sid).syncListPermissions.list();
  summary.list.permissions = permissions.map((p) => [p.identity, p.read, p.write, p.manage]);
}

// A Stream: created, a message published (201, TZ SID, data echoed), one over 4 KiB
// refused, and publishing to an unknown Stream refused.
async function streamScenario(svc, summary) {
  const stream = await svc.syncStreams.create({ uniqueName: "node-stream" });
  check(/^TO[0-9a-f]{32}$/.test(stream.sid), "stream SID", stream.sid);
  const messages = svc.syncStreams("node-stream").streamMessages;
  const message = await messages.create({ data: { typing: true, who: "alice" } });
  check(/^TZ[0-9a-f]{32}$/.test(message.sid), "message SID", message.sid);
  check(same(message.data, { typing: true, who: "alice" }), "message data", message.data);
  summary.errors.push(
    await expectRestError(
      "stream message over 4 KiB",
      () => messages.create({ data: { blob: "x".repeat(5000) } }),
      413,
      54006,
    ),
  );
  summary.errors.push(
    await expectRestError(
      "publish to an unknown stream",
      () => svc.syncStreams("no-such-stream").streamMessages.create({ data: {} }),
      404,
      54300,
    ),
  );
  summary.stream = { sid: stream.sid, message: { sid: message.sid, data: message.data } };
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
