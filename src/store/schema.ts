/**
 * The database schema, as an ordered list of migrations. `PRAGMA user_version` holds how many have
 * been applied; opening a database applies the rest in one transaction each. Never edit a shipped
 * migration: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: initial schema
  `
  CREATE TABLE captures (
    id            INTEGER PRIMARY KEY,
    file          TEXT NOT NULL,
    sha256        TEXT,
    format        TEXT,
    compressed    INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL CHECK (status IN ('ingesting','complete','incomplete','damaged')),
    pid           INTEGER,
    packets       INTEGER NOT NULL DEFAULT 0,
    bytes         INTEGER NOT NULL DEFAULT 0,
    flows         INTEGER NOT NULL DEFAULT 0,
    first_ts      REAL,
    last_ts       REAL,
    link_types    TEXT NOT NULL DEFAULT '[]',
    anomalies     TEXT NOT NULL DEFAULT '{}',
    error         TEXT,
    started_at    TEXT NOT NULL,
    finished_at   TEXT
  );
  CREATE UNIQUE INDEX captures_sha256 ON captures(sha256) WHERE status = 'complete' OR status = 'damaged';

  CREATE TABLE flows (
    id             INTEGER PRIMARY KEY,
    capture_id     INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
    flow_key       TEXT NOT NULL,
    community_id   TEXT NOT NULL,
    transport      TEXT NOT NULL,
    ip_version     INTEGER NOT NULL,
    client_ip      TEXT NOT NULL,
    client_port    INTEGER NOT NULL,
    server_ip      TEXT NOT NULL,
    server_port    INTEGER NOT NULL,
    first_ts       REAL NOT NULL,
    last_ts        REAL NOT NULL,
    first_frame    INTEGER NOT NULL,
    last_frame     INTEGER NOT NULL,
    packets_client INTEGER NOT NULL,
    packets_server INTEGER NOT NULL,
    bytes_client   INTEGER NOT NULL,
    bytes_server   INTEGER NOT NULL,
    payload_client INTEGER NOT NULL,
    payload_server INTEGER NOT NULL,
    missing_client INTEGER NOT NULL DEFAULT 0,
    missing_server INTEGER NOT NULL DEFAULT 0,
    history        TEXT NOT NULL,
    state          TEXT NOT NULL,
    midstream      INTEGER NOT NULL,
    end_reason     TEXT NOT NULL,
    tunnel         TEXT,
    vlan           INTEGER NOT NULL DEFAULT 0,
    anomalies      TEXT NOT NULL DEFAULT '{}',
    app            TEXT NOT NULL,
    tls_version    TEXT,
    sni            TEXT,
    -- classification (rewritten by every classification pass)
    path           TEXT NOT NULL DEFAULT 'other',
    path_detail    TEXT NOT NULL DEFAULT '{}',
    confidence     REAL NOT NULL DEFAULT 0,
    reasons        TEXT NOT NULL DEFAULT '[]',
    worst_severity TEXT,
    severity_rank  INTEGER NOT NULL DEFAULT 0,
    finding_count  INTEGER NOT NULL DEFAULT 0,
    -- the dissectors' evidence as JSON (certificates by sha256), read back by reclassification
    evidence       TEXT NOT NULL DEFAULT '{}'
  );
  CREATE INDEX flows_capture ON flows(capture_id);
  CREATE INDEX flows_path ON flows(path, first_ts);
  CREATE INDEX flows_first_ts ON flows(first_ts);
  CREATE INDEX flows_client ON flows(client_ip);
  CREATE INDEX flows_server ON flows(server_ip, server_port);
  CREATE INDEX flows_severity ON flows(severity_rank DESC, first_ts);
  CREATE INDEX flows_bytes ON flows((bytes_client + bytes_server));
  CREATE INDEX flows_community ON flows(community_id);

  CREATE TABLE certificates (
    sha256              TEXT PRIMARY KEY,
    sha1                TEXT NOT NULL,
    subject             TEXT NOT NULL,
    issuer              TEXT NOT NULL,
    subject_cn          TEXT,
    issuer_cn           TEXT,
    san                 TEXT NOT NULL DEFAULT '[]',
    serial              TEXT,
    not_before          TEXT,
    not_after           TEXT,
    key_type            TEXT,
    key_bits            INTEGER,
    signature_algorithm TEXT,
    self_signed         INTEGER NOT NULL,
    is_ca               INTEGER NOT NULL,
    info                TEXT NOT NULL,
    der                 BLOB
  );

  CREATE TABLE flow_certificates (
    flow_id  INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
    side     TEXT NOT NULL CHECK (side IN ('server','client')),
    position INTEGER NOT NULL,
    sha256   TEXT NOT NULL REFERENCES certificates(sha256),
    PRIMARY KEY (flow_id, side, position)
  );
  CREATE INDEX flow_certificates_sha ON flow_certificates(sha256);

  CREATE TABLE tls_sessions (
    flow_id               INTEGER PRIMARY KEY REFERENCES flows(id) ON DELETE CASCADE,
    version               TEXT,
    client_version        TEXT,
    sni                   TEXT,
    alpn                  TEXT NOT NULL DEFAULT '[]',
    alpn_selected         TEXT,
    cipher                TEXT,
    ja3                   TEXT,
    ja3s                  TEXT,
    ja4                   TEXT,
    client_cert_requested INTEGER,
    client_cert_sent      INTEGER NOT NULL DEFAULT 0,
    established           INTEGER NOT NULL,
    resumed               INTEGER NOT NULL,
    alerts                TEXT NOT NULL DEFAULT '[]',
    server_subject        TEXT,
    server_issuer         TEXT,
    client_subject        TEXT,
    verification          TEXT,
    app_data_bytes_client INTEGER NOT NULL DEFAULT 0,
    app_data_bytes_server INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX tls_ja3 ON tls_sessions(ja3);
  CREATE INDEX tls_ja4 ON tls_sessions(ja4);

  CREATE TABLE http_requests (
    id               INTEGER PRIMARY KEY,
    flow_id          INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    ts               REAL,
    frame            INTEGER,
    version          TEXT,
    method           TEXT,
    path             TEXT,
    host             TEXT,
    user_agent       TEXT,
    auth             TEXT,
    auth_hash        TEXT,
    status           INTEGER,
    reason           TEXT,
    content_type     TEXT,
    upgrade          TEXT,
    stream_protocol  TEXT,
    x_forwarded_for  TEXT,
    x_forwarded_uri  TEXT,
    x_forwarded_host TEXT,
    grpc_method      TEXT,
    k8s_api          TEXT,
    k8s_operation    TEXT,
    k8s_target       TEXT,
    k8s_namespace    TEXT,
    k8s_name         TEXT
  );
  CREATE INDEX http_flow ON http_requests(flow_id, seq);
  CREATE INDEX http_operation ON http_requests(k8s_operation);

  CREATE TABLE ssh_sessions (
    flow_id       INTEGER PRIMARY KEY REFERENCES flows(id) ON DELETE CASCADE,
    client_banner TEXT,
    server_banner TEXT,
    hassh         TEXT,
    hassh_server  TEXT
  );

  CREATE TABLE endpoints (
    ip           TEXT PRIMARY KEY,
    primary_role TEXT NOT NULL,
    roles        TEXT NOT NULL DEFAULT '[]',
    name         TEXT,
    reasons      TEXT NOT NULL DEFAULT '[]',
    flows        INTEGER NOT NULL DEFAULT 0,
    bytes        INTEGER NOT NULL DEFAULT 0,
    first_ts     REAL,
    last_ts      REAL
  );

  CREATE TABLE findings (
    id             INTEGER PRIMARY KEY,
    rule           TEXT NOT NULL,
    severity       TEXT NOT NULL,
    severity_rank  INTEGER NOT NULL,
    flow_id        INTEGER REFERENCES flows(id) ON DELETE CASCADE,
    capture_id     INTEGER REFERENCES captures(id) ON DELETE CASCADE,
    title          TEXT NOT NULL,
    evidence       TEXT NOT NULL,
    recommendation TEXT NOT NULL,
    reference      TEXT NOT NULL,
    cis            TEXT,
    ts             REAL,
    frame          INTEGER
  );
  CREATE INDEX findings_rule ON findings(rule);
  CREATE INDEX findings_severity ON findings(severity_rank DESC, ts);
  CREATE INDEX findings_flow ON findings(flow_id);

  CREATE TABLE anomalies (
    capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
    code       TEXT NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (capture_id, code)
  );

  -- Inventory and CA bundles the last classification used, so later runs without them keep them.
  CREATE TABLE analysis_inputs (
    kind    TEXT NOT NULL CHECK (kind IN ('inventory','ca')),
    source  TEXT NOT NULL,
    content TEXT NOT NULL
  );

  -- Findings with the connection they were raised on.
  CREATE VIEW v_findings AS
    SELECT f.id, f.rule, f.severity, f.severity_rank, f.title, f.evidence, f.recommendation, f.reference, f.cis,
           f.ts, datetime(f.ts, 'unixepoch') AS time, f.frame,
           fl.id AS flow_id, fl.flow_key, fl.path, fl.client_ip, fl.client_port, fl.server_ip, fl.server_port,
           fl.app, fl.community_id, c.file AS capture
      FROM findings f
      LEFT JOIN flows fl ON fl.id = f.flow_id
      LEFT JOIN captures c ON c.id = f.capture_id;

  -- Connections, bytes and worst finding per communication path.
  CREATE VIEW v_path_summary AS
    SELECT path, COUNT(*) AS flows, SUM(bytes_client + bytes_server) AS bytes,
           SUM(finding_count) AS findings, MAX(severity_rank) AS worst_rank,
           MIN(first_ts) AS first_ts, MAX(last_ts) AS last_ts
      FROM flows GROUP BY path;

  -- What each address did: as client, as server, bytes and findings.
  CREATE VIEW v_endpoint_activity AS
    SELECT e.ip, e.primary_role, e.roles, e.name,
           (SELECT COUNT(*) FROM flows WHERE client_ip = e.ip) AS flows_as_client,
           (SELECT COUNT(*) FROM flows WHERE server_ip = e.ip) AS flows_as_server,
           e.bytes, e.first_ts, e.last_ts,
           (SELECT COUNT(*) FROM findings f JOIN flows fl ON fl.id = f.flow_id
             WHERE fl.client_ip = e.ip OR fl.server_ip = e.ip) AS findings
      FROM endpoints e;

  -- Kubelets reached over TLS the API server cannot be verifying: who, which kubelet, when.
  CREATE VIEW v_kubelet_unverified AS
    SELECT fl.server_ip AS kubelet, fl.server_port AS port, fl.client_ip AS client,
           datetime(fl.first_ts, 'unixepoch') AS first_seen, datetime(fl.last_ts, 'unixepoch') AS last_seen,
           fl.path_detail, f.evidence, c.file AS capture, fl.id AS flow_id
      FROM findings f JOIN flows fl ON fl.id = f.flow_id JOIN captures c ON c.id = fl.capture_id
     WHERE f.rule = 'kubelet-tls-unverified';
  `,
  // 2: counters of the live capture process, read by the TUI (one row: the latest live run)
  `
  CREATE TABLE live_status (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    source          TEXT NOT NULL,
    pid             INTEGER,
    capture_id      INTEGER,
    running         INTEGER NOT NULL,
    started_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    packets         INTEGER NOT NULL DEFAULT 0,
    bytes           INTEGER NOT NULL DEFAULT 0,
    packets_per_sec REAL NOT NULL DEFAULT 0,
    flows           INTEGER NOT NULL DEFAULT 0,
    active_flows    INTEGER NOT NULL DEFAULT 0,
    kernel_drops    INTEGER NOT NULL DEFAULT 0,
    our_drops       INTEGER NOT NULL DEFAULT 0,
    message         TEXT
  );
  `,
  // 3: the dissected evidence moves out of \`flows\` into its own table. Classification rewrites every
  // flow row; with ~2 KB of JSON in each, SQLite rewrote the JSON too, and every scan of \`flows\`
  // (the dashboard's lists) read past it.
  `
  CREATE TABLE flow_evidence (
    flow_id   INTEGER PRIMARY KEY REFERENCES flows(id) ON DELETE CASCADE,
    -- the dissectors' evidence as JSON (certificates by sha256), read back by reclassification
    evidence  TEXT NOT NULL
  );
  INSERT INTO flow_evidence (flow_id, evidence) SELECT id, evidence FROM flows;
  ALTER TABLE flows DROP COLUMN evidence;
  -- most severe and newest first (the TUI's findings list): read backwards, it needs no sort
  CREATE INDEX findings_rank_recent ON findings(severity_rank, ts);
  `,
  // 4: "flows with finding X" answered from the index alone, without reading each finding's text
  `
  CREATE INDEX findings_rule_flow ON findings(rule, flow_id);
  DROP INDEX findings_rule;
  `,
  // 5: indexes set aside during a bulk load into an empty database, built again when it ends (kept in
  // the database itself so that a load that was cut off has them rebuilt by the next open); the TLS
  // hello fingerprints moved out of the evidence.
  `
  CREATE TABLE deferred_indexes (
    name  TEXT PRIMARY KEY,
    sql   TEXT NOT NULL
  );
  -- What TLS hellos decide (offered lists, JA3/JA3S/JA4), stored once and referred to from the
  -- evidence by id: it was over half of every TLS flow's evidence, the same on thousands of flows.
  -- Evidence written before this keeps the fields inline and is read as it is.
  CREATE TABLE tls_fingerprints (
    id      INTEGER PRIMARY KEY,
    fields  TEXT NOT NULL UNIQUE
  );
  `,
  // 6: a flow's certificates kept in their primary key's order only (WITHOUT ROWID): every TLS flow
  // adds a row per certificate, which filled a rowid table and its key index both.
  `
  CREATE TABLE flow_certificates_by_flow (
    flow_id  INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
    side     TEXT NOT NULL CHECK (side IN ('server','client')),
    position INTEGER NOT NULL,
    sha256   TEXT NOT NULL REFERENCES certificates(sha256),
    PRIMARY KEY (flow_id, side, position)
  ) WITHOUT ROWID;
  INSERT INTO flow_certificates_by_flow (flow_id, side, position, sha256)
    SELECT flow_id, side, position, sha256 FROM flow_certificates;
  DROP TABLE flow_certificates;
  ALTER TABLE flow_certificates_by_flow RENAME TO flow_certificates;
  CREATE INDEX flow_certificates_sha ON flow_certificates(sha256);
  `,
  // 7: the dashboard's map and paths table group every flow by (path, client, server): this index
  // holds what they sum, so they walk it in order instead of reading and sorting the whole table.
  `
  CREATE INDEX flows_overview ON flows(path, client_ip, server_ip, bytes_client, bytes_server, finding_count,
    severity_rank, first_ts, last_ts);
  `,
  // 8: certificate chains stored once. Thousands of connections present the same few chains, and a
  // row per certificate per connection (with an index on its SHA-256) was the largest cost of storing
  // a TLS connection. A TLS session now refers to its server's and its client's chain by id;
  // \`flow_certificates\` remains, as a view with the same columns.
  `
  CREATE TABLE certificate_chains (
    id      INTEGER PRIMARY KEY,
    -- the chain's certificates' SHA-256 in the order presented, joined by ','
    digest  TEXT NOT NULL UNIQUE,
    length  INTEGER NOT NULL
  );
  CREATE TABLE certificate_chain_links (
    chain_id INTEGER NOT NULL REFERENCES certificate_chains(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    sha256   TEXT NOT NULL REFERENCES certificates(sha256),
    PRIMARY KEY (chain_id, position)
  ) WITHOUT ROWID;
  CREATE INDEX certificate_chain_links_sha ON certificate_chain_links(sha256);
  ALTER TABLE tls_sessions ADD COLUMN server_chain INTEGER REFERENCES certificate_chains(id);
  ALTER TABLE tls_sessions ADD COLUMN client_chain INTEGER REFERENCES certificate_chains(id);

  CREATE TEMP TABLE side_chains AS
    SELECT flow_id, side, group_concat(sha256, ',' ORDER BY position) AS digest, COUNT(*) AS length
      FROM flow_certificates GROUP BY flow_id, side;
  INSERT OR IGNORE INTO certificate_chains (digest, length) SELECT digest, length FROM side_chains ORDER BY flow_id, side DESC;
  INSERT OR IGNORE INTO certificate_chain_links (chain_id, position, sha256)
    SELECT c.id, fc.position, fc.sha256 FROM flow_certificates fc
      JOIN side_chains s ON s.flow_id = fc.flow_id AND s.side = fc.side JOIN certificate_chains c ON c.digest = s.digest;
  -- Certificates were always written with their TLS session; a row made by hand without one gets an empty session.
  INSERT OR IGNORE INTO tls_sessions (flow_id, established, resumed) SELECT DISTINCT flow_id, 0, 0 FROM side_chains;
  UPDATE tls_sessions SET
    server_chain = (SELECT c.id FROM side_chains s JOIN certificate_chains c ON c.digest = s.digest
                     WHERE s.flow_id = tls_sessions.flow_id AND s.side = 'server'),
    client_chain = (SELECT c.id FROM side_chains s JOIN certificate_chains c ON c.digest = s.digest
                     WHERE s.flow_id = tls_sessions.flow_id AND s.side = 'client')
   WHERE flow_id IN (SELECT flow_id FROM side_chains);
  DROP TABLE side_chains;
  DROP TABLE flow_certificates;
  -- A load cut off before this version may have set the old table's index aside.
  DELETE FROM deferred_indexes WHERE name = 'flow_certificates_sha';
  CREATE INDEX tls_server_chain ON tls_sessions(server_chain);
  CREATE INDEX tls_client_chain ON tls_sessions(client_chain);

  -- Which certificate each connection presented, where in the chain: one row per certificate.
  CREATE VIEW flow_certificates AS
    SELECT t.flow_id, 'server' AS side, l.position, l.sha256
      FROM tls_sessions t JOIN certificate_chain_links l ON l.chain_id = t.server_chain
    UNION ALL
    SELECT t.flow_id, 'client' AS side, l.position, l.sha256
      FROM tls_sessions t JOIN certificate_chain_links l ON l.chain_id = t.client_chain;
  `,
  // 9: a connection's TLS evidence kept in its \`tls_sessions\` row alone, every field in a column,
  // instead of also as JSON in \`flow_evidence\` (most of a TLS connection's evidence, and the most
  // costly part of storing it). Evidence written before keeps its TLS part and is read as it is; the
  // new columns of its sessions are filled from it.
  `
  ALTER TABLE tls_sessions ADD COLUMN cipher_id INTEGER;
  ALTER TABLE tls_sessions ADD COLUMN session_ticket INTEGER;
  ALTER TABLE tls_sessions ADD COLUMN psk INTEGER;
  ALTER TABLE tls_sessions ADD COLUMN ech INTEGER;
  ALTER TABLE tls_sessions ADD COLUMN hello_retry_request INTEGER;
  ALTER TABLE tls_sessions ADD COLUMN decrypted INTEGER;
  ALTER TABLE tls_sessions ADD COLUMN encrypted_from_frame_client INTEGER;
  ALTER TABLE tls_sessions ADD COLUMN encrypted_from_frame_server INTEGER;
  ALTER TABLE tls_sessions ADD COLUMN app_data_records_client INTEGER;
  ALTER TABLE tls_sessions ADD COLUMN app_data_records_server INTEGER;
  ALTER TABLE tls_sessions ADD COLUMN client_hello_frame INTEGER;
  ALTER TABLE tls_sessions ADD COLUMN server_hello_frame INTEGER;
  ALTER TABLE tls_sessions ADD COLUMN certificate_frame INTEGER;
  -- the hello's fields and JA3/JA3S/JA4 strings (evidence written before version 5 has them inline)
  ALTER TABLE tls_sessions ADD COLUMN fingerprint INTEGER REFERENCES tls_fingerprints(id);
  UPDATE tls_sessions SET
    cipher_id = json_extract(e.evidence, '$.tls.cipherId'),
    session_ticket = json_extract(e.evidence, '$.tls.sessionTicket'),
    psk = json_extract(e.evidence, '$.tls.psk'),
    ech = json_extract(e.evidence, '$.tls.ech'),
    hello_retry_request = json_extract(e.evidence, '$.tls.helloRetryRequest'),
    decrypted = json_extract(e.evidence, '$.tls.decrypted'),
    encrypted_from_frame_client = json_extract(e.evidence, '$.tls.encryptedFromFrame[0]'),
    encrypted_from_frame_server = json_extract(e.evidence, '$.tls.encryptedFromFrame[1]'),
    app_data_records_client = json_extract(e.evidence, '$.tls.appDataRecords[0]'),
    app_data_records_server = json_extract(e.evidence, '$.tls.appDataRecords[1]'),
    client_hello_frame = json_extract(e.evidence, '$.tls.clientHelloFrame'),
    server_hello_frame = json_extract(e.evidence, '$.tls.serverHelloFrame'),
    certificate_frame = json_extract(e.evidence, '$.tls.certificateFrame'),
    fingerprint = (SELECT id FROM tls_fingerprints WHERE id = json_extract(e.evidence, '$.tls.fingerprint'))
    FROM flow_evidence e WHERE e.flow_id = tls_sessions.flow_id AND json_type(e.evidence, '$.tls') = 'object';
  `,
  // 10: one TCP connection seen on both sides of a NAT (a pod's connection to a Service address
  // before kube-proxy's DNAT and after it, as \`tcpdump -i any\` on a node records it): its flows
  // share a value, and each finds the other by it.
  `
  ALTER TABLE flows ADD COLUMN nat_link TEXT;
  CREATE INDEX flows_nat_link ON flows(nat_link) WHERE nat_link IS NOT NULL;
  `,
  // 11: of the two flows of such a connection, the one captured second is marked, so that counts of
  // connections (the path summary, the dashboard's paths table, which sums flows_overview) count it
  // once. A load cut off before its indexes were built has flows_overview's old definition pending:
  // it is replaced.
  `
  ALTER TABLE flows ADD COLUMN nat_repeat INTEGER NOT NULL DEFAULT 0;
  UPDATE flows SET nat_repeat = 1
   WHERE nat_link IS NOT NULL AND EXISTS (
     SELECT 1 FROM flows o WHERE o.nat_link = flows.nat_link AND o.capture_id = flows.capture_id AND o.id <> flows.id
        AND (o.first_ts < flows.first_ts OR (o.first_ts = flows.first_ts AND o.first_frame < flows.first_frame)));
  DROP INDEX IF EXISTS flows_overview;
  DELETE FROM deferred_indexes WHERE name = 'flows_overview';
  CREATE INDEX flows_overview ON flows(path, client_ip, server_ip, bytes_client, bytes_server, finding_count,
    severity_rank, first_ts, last_ts, nat_repeat);
  DROP VIEW v_path_summary;
  CREATE VIEW v_path_summary AS
    SELECT path, SUM(1 - nat_repeat) AS flows,
           SUM(CASE WHEN nat_repeat = 0 THEN bytes_client + bytes_server ELSE 0 END) AS bytes,
           SUM(finding_count) AS findings, MAX(severity_rank) AS worst_rank,
           MIN(first_ts) AS first_ts, MAX(last_ts) AS last_ts
      FROM flows GROUP BY path;
  `,
  // 12: where a live capture's packets were written (\`live --write FILE\`), so that its flows'
  // packets can be read back as a file's are. NULL for a capture read from a file (it is \`file\`).
  // v_findings says where each finding's packets are to be read back from.
  `
  ALTER TABLE captures ADD COLUMN packets_file TEXT;
  DROP VIEW v_findings;
  CREATE VIEW v_findings AS
    SELECT f.id, f.rule, f.severity, f.severity_rank, f.title, f.evidence, f.recommendation, f.reference, f.cis,
           f.ts, datetime(f.ts, 'unixepoch') AS time, f.frame,
           fl.id AS flow_id, fl.flow_key, fl.path, fl.client_ip, fl.client_port, fl.server_ip, fl.server_port,
           fl.app, fl.community_id, c.file AS capture, COALESCE(c.packets_file, c.file) AS packets_file
      FROM findings f
      LEFT JOIN flows fl ON fl.id = f.flow_id
      LEFT JOIN captures c ON c.id = f.capture_id;
  `,
  // 13: whose each request's credential claims to be (a service-account token's account, pod and
  // node, a bootstrap token's id, a basic user), read before the credential is dropped, and the user
  // it impersonates (\`kubectl --as\`); and the view of every credential seen, where it was used, and
  // whether in cleartext.
  `
  ALTER TABLE http_requests ADD COLUMN auth_subject TEXT;
  ALTER TABLE http_requests ADD COLUMN auth_identity TEXT;
  ALTER TABLE http_requests ADD COLUMN impersonate_user TEXT;
  CREATE INDEX http_auth_subject ON http_requests(auth_subject) WHERE auth_subject IS NOT NULL;
  CREATE INDEX http_auth_hash ON http_requests(auth_hash) WHERE auth_hash IS NOT NULL;
  CREATE VIEW v_credentials AS
    SELECT h.auth_hash, h.auth AS scheme, h.auth_subject AS subject,
           json_extract(h.auth_identity, '$.kind') AS kind,
           json_extract(h.auth_identity, '$.namespace') AS namespace,
           json_extract(h.auth_identity, '$.serviceAccount') AS service_account,
           json_extract(h.auth_identity, '$.pod') AS pod,
           json_extract(h.auth_identity, '$.node') AS node,
           group_concat(DISTINCT h.impersonate_user) AS impersonated,
           datetime(json_extract(h.auth_identity, '$.expires'), 'unixepoch') AS expires,
           fl.client_ip AS client, fl.server_ip AS server, fl.server_port AS port, fl.path,
           MAX(NOT EXISTS (SELECT 1 FROM tls_sessions t WHERE t.flow_id = fl.id)) AS cleartext,
           COUNT(*) AS requests, COUNT(DISTINCT fl.id) AS flows,
           datetime(MIN(h.ts), 'unixepoch') AS first_seen, datetime(MAX(h.ts), 'unixepoch') AS last_seen
      FROM http_requests h JOIN flows fl ON fl.id = h.flow_id
     WHERE h.auth <> 'none'
     GROUP BY h.auth_hash, h.auth, fl.client_ip, fl.server_ip, fl.server_port, fl.path;
  `,
  // 14: findings accepted as risks (\`--accept FILE\`): raised and kept, with the reason, the entry
  // and its end, apart from the open findings that counts, views and \`--fail-on\` read. The accept
  // files join the stored inputs (the table is rebuilt: SQLite cannot change a CHECK).
  `
  CREATE TABLE analysis_inputs_14 (
    kind    TEXT NOT NULL CHECK (kind IN ('inventory','ca','accept')),
    source  TEXT NOT NULL,
    content TEXT NOT NULL
  );
  INSERT INTO analysis_inputs_14 (kind, source, content) SELECT kind, source, content FROM analysis_inputs ORDER BY rowid;
  DROP TABLE analysis_inputs;
  ALTER TABLE analysis_inputs_14 RENAME TO analysis_inputs;
  CREATE TABLE accepted_findings (
    id             INTEGER PRIMARY KEY,
    rule           TEXT NOT NULL,
    severity       TEXT NOT NULL,
    severity_rank  INTEGER NOT NULL,
    flow_id        INTEGER REFERENCES flows(id) ON DELETE CASCADE,
    capture_id     INTEGER REFERENCES captures(id) ON DELETE CASCADE,
    title          TEXT NOT NULL,
    evidence       TEXT NOT NULL,
    recommendation TEXT NOT NULL,
    reference      TEXT NOT NULL,
    cis            TEXT,
    ts             REAL,
    frame          INTEGER,
    reason         TEXT NOT NULL,
    until          TEXT,
    accepted_by    TEXT NOT NULL
  );
  CREATE INDEX accepted_findings_flow ON accepted_findings(flow_id);
  CREATE INDEX accepted_findings_capture ON accepted_findings(capture_id);
  CREATE VIEW v_accepted_findings AS
    SELECT a.id, a.rule, a.severity, a.severity_rank, a.title, a.evidence, a.reason, a.until, a.accepted_by,
           a.recommendation, a.reference, a.cis, a.ts, datetime(a.ts, 'unixepoch') AS time, a.frame,
           fl.id AS flow_id, fl.flow_key, fl.path, fl.client_ip, fl.client_port, fl.server_ip, fl.server_port,
           fl.app, fl.community_id, c.file AS capture, COALESCE(c.packets_file, c.file) AS packets_file,
           a.capture_id
      FROM accepted_findings a
      LEFT JOIN flows fl ON fl.id = a.flow_id
      LEFT JOIN captures c ON c.id = a.capture_id;
  -- v_findings names its capture's id too (several captures in one database may share a file name).
  DROP VIEW v_findings;
  CREATE VIEW v_findings AS
    SELECT f.id, f.rule, f.severity, f.severity_rank, f.title, f.evidence, f.recommendation, f.reference, f.cis,
           f.ts, datetime(f.ts, 'unixepoch') AS time, f.frame,
           fl.id AS flow_id, fl.flow_key, fl.path, fl.client_ip, fl.client_port, fl.server_ip, fl.server_port,
           fl.app, fl.community_id, c.file AS capture, COALESCE(c.packets_file, c.file) AS packets_file,
           f.capture_id
      FROM findings f
      LEFT JOIN flows fl ON fl.id = f.flow_id
      LEFT JOIN captures c ON c.id = f.capture_id;
  -- An accepted risk is still what happened: the kubelets reached over unverified TLS include those
  -- accepted, with the reason (\`accepted\` is NULL for the others).
  DROP VIEW v_kubelet_unverified;
  CREATE VIEW v_kubelet_unverified AS
    SELECT fl.server_ip AS kubelet, fl.server_port AS port, fl.client_ip AS client,
           datetime(fl.first_ts, 'unixepoch') AS first_seen, datetime(fl.last_ts, 'unixepoch') AS last_seen,
           fl.path_detail, f.evidence, c.file AS capture, fl.id AS flow_id, NULL AS accepted
      FROM findings f JOIN flows fl ON fl.id = f.flow_id JOIN captures c ON c.id = fl.capture_id
     WHERE f.rule = 'kubelet-tls-unverified'
    UNION ALL
    SELECT fl.server_ip, fl.server_port, fl.client_ip, datetime(fl.first_ts, 'unixepoch'), datetime(fl.last_ts, 'unixepoch'),
           fl.path_detail, a.evidence, c.file, fl.id, a.reason
      FROM accepted_findings a JOIN flows fl ON fl.id = a.flow_id JOIN captures c ON c.id = fl.capture_id
     WHERE a.rule = 'kubelet-tls-unverified';
  `,
  // 15: DNS transactions of UDP flows on port 53 (the question, the response code, the answers),
  // which name the addresses the capture shows; and every name an address was given.
  `
  CREATE TABLE dns_queries (
    flow_id        INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    ts             REAL,
    frame          INTEGER,
    message_id     INTEGER NOT NULL,
    query          TEXT,
    qtype          TEXT,
    rcode          TEXT,
    answers        TEXT NOT NULL,
    response_ts    REAL,
    response_frame INTEGER,
    truncated      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (flow_id, seq)
  );
  CREATE INDEX dns_query ON dns_queries(query);
  CREATE VIEW v_dns_names AS
    SELECT json_extract(a.value, '$.data') AS address, d.query AS name, json_extract(a.value, '$.name') AS owner,
           json_extract(a.value, '$.type') AS type, COUNT(*) AS answers,
           datetime(MIN(COALESCE(d.response_ts, d.ts)), 'unixepoch') AS first_seen,
           datetime(MAX(COALESCE(d.response_ts, d.ts)), 'unixepoch') AS last_seen
      FROM dns_queries d, json_each(d.answers) a
     WHERE json_extract(a.value, '$.type') IN ('A', 'AAAA')
     GROUP BY 1, 2, 3, 4;
  `,
  // 16: a gRPC call's status and message (etcd's refusals: UNAUTHENTICATED, PERMISSION_DENIED).
  `
  ALTER TABLE http_requests ADD COLUMN grpc_status INTEGER;
  ALTER TABLE http_requests ADD COLUMN grpc_message TEXT;
  `,
  // 17: requests newest first (planewatch requests, GET /api/requests) without sorting them all:
  // overall, and by operation, status (who was refused) and namespace, each index ending with the time.
  `
  CREATE INDEX http_ts ON http_requests(ts);
  DROP INDEX IF EXISTS http_operation;
  -- A load cut off before this version may have set the old index aside.
  DELETE FROM deferred_indexes WHERE name = 'http_operation';
  CREATE INDEX http_operation ON http_requests(k8s_operation, ts);
  CREATE INDEX http_status ON http_requests(status, ts) WHERE status IS NOT NULL;
  CREATE INDEX http_namespace ON http_requests(k8s_namespace, ts) WHERE k8s_namespace IS NOT NULL;
  `,
  // 18: flows by connection state, newest first (planewatch flows --state, GET /api/flows?state=): a
  // scan's refused or unanswered attempts among a million flows. The endpoints' activity counts the
  // attempts through it too.
  `
  CREATE INDEX flows_state ON flows(state, first_ts);
  `,
  // 19: a server's flows in the order they were stored, so that its newest are read without sorting
  // them all (the newest 50,000 of an API server that took a million connections: 0.5 s to 8 ms; its
  // detail page 1.7 s to 0.4 s). The port narrowed little: a server's flows are mostly on one or two.
  `
  DROP INDEX IF EXISTS flows_server;
  DELETE FROM deferred_indexes WHERE name = 'flows_server';
  CREATE INDEX flows_server ON flows(server_ip);
  `,
  // 20: the credentials list (planewatch credentials, the dashboard's Credentials) grouped on the
  // index of credentials alone, which then holds what it sums: no visit to the requests themselves.
  `
  DROP INDEX IF EXISTS http_auth_hash;
  DELETE FROM deferred_indexes WHERE name = 'http_auth_hash';
  CREATE INDEX http_auth_hash ON http_requests(auth_hash, auth, flow_id, ts, auth_subject) WHERE auth_hash IS NOT NULL;
  `,
  // 21: the --decode-as rules a capture was analysed with (a JSON array of Wireshark-style rules such as
  // "udp.port==48879,vxlan"; NULL: the standard ports), so its packets are read back the same way. The
  // same content decoded otherwise is another analysis of it, stored as a capture of its own.
  `
  ALTER TABLE captures ADD COLUMN decode_as TEXT;
  DROP INDEX captures_sha256;
  CREATE UNIQUE INDEX captures_sha256 ON captures(sha256, COALESCE(decode_as, '')) WHERE status = 'complete' OR status = 'damaged';
  `,
  // 22: each request's and response's body size (bytes of the message body as sent, chunked framing
  // removed, not decompressed; HTTP/2: the DATA frames' payload less padding) and the response's
  // Content-Type, as Zeek's http.log gives them. NULL for requests stored before.
  `
  ALTER TABLE http_requests ADD COLUMN request_body_bytes INTEGER;
  ALTER TABLE http_requests ADD COLUMN response_body_bytes INTEGER;
  ALTER TABLE http_requests ADD COLUMN response_content_type TEXT;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
