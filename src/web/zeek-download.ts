/**
 * A Zeek log of the whole database as a download (GET /api/zeek/:log): the logs `planewatch export`
 * writes, for an analyst who works from the dashboard.
 */
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { openStoreReadOnly } from '../store/store';
import { zeekLocalNets } from '../report/zeek/local-nets';
import { zeekLogSources } from '../report/zeek/zeek-logs';
import type { ZeekFormat } from '../report/zeek/zeek-log';

export function sendZeekLog(dbFile: string, log: string, format: ZeekFormat, reply: FastifyReply): FastifyReply {
  // A connection of its own: the log is read while it is sent, over many turns of the event loop, and
  // the dashboard's shared connection cannot run other queries while a cursor is open on it.
  const db = openStoreReadOnly(dbFile);
  const source = zeekLogSources(zeekLocalNets(db)).find((s) => s.spec.path === log)!;
  const body = Readable.from(source.lines(db, format), { objectMode: false });
  body.once('close', () => db.close());
  return reply
    .type(format === 'zeek' ? 'text/plain; charset=utf-8' : 'application/x-ndjson')
    .header('content-disposition', `attachment; filename="${log}${format === 'zeek-json' ? '.json' : ''}.log"`)
    .send(body);
}
