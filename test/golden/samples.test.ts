import { describe, expect, it } from 'vitest';
import { analyzeJson, compareSample, readTruth, truthFiles } from './compare';
import { PATH_IDS } from '../../src/model/analysis';
import { FINDING_IDS } from '../../src/analysis/finding-catalogue';

/**
 * Golden tests: every bundled sample, analysed end to end through the CLI with the bundled inventory
 * and CA, gives each connection the path, detail, findings and dissected fields its truth file states.
 * Samples whose truth needs decryption keys are checked with their keys in keylog.test.ts.
 */
const truths = truthFiles().map((name) => ({ name, truth: readTruth(name) as ReturnType<typeof readTruth> & { requiresDecryption?: boolean } }));

describe('bundled samples match their truth files', () => {
  for (const { name, truth } of truths.filter((t) => !t.truth.requiresDecryption)) {
    it(name.replace('.truth.json', ''), () => {
      const out = analyzeJson(truth.capture);
      expect(compareSample(truth, out)).toEqual([]);
      for (const f of out.flows) {
        expect(f.reasons.length, `${f.id} has reasons`).toBeGreaterThan(0);
        expect(f.confidence).toBeGreaterThan(0);
        expect(f.confidence).toBeLessThanOrEqual(1);
      }
    });
  }

  it('the truth files cover every path id and finding id of the contract', () => {
    const paths = new Set<string>();
    const findings = new Set<string>();
    for (const { truth } of truths) {
      for (const c of truth.connections) {
        paths.add(c.path);
        for (const f of c.findings) findings.add(f);
      }
    }
    expect([...PATH_IDS].filter((p) => !paths.has(p))).toEqual([]);
    expect(FINDING_IDS.filter((f) => !findings.has(f))).toEqual([]);
  });
});
