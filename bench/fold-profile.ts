/**
 * Turns a V8 CPU profile (`node --cpu-prof`, e.g. BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR')
 * into folded stacks — one line per distinct stack, `root;caller;callee <samples>` — the text format
 * flame graph tools read (flamegraph.pl, speedscope, inferno) and that diffs well in review.
 *
 *   node --import tsx bench/fold-profile.ts PROFILE.cpuprofile > profile.folded
 *
 * Idle samples are left out, so the figures are shares of the time the thread was busy.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

/** Folded stacks of `profile`, heaviest first, without the idle and root frames. */
export function foldProfile(profile: CpuProfile): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const frame = (n: ProfileNode) => {
    const file = n.callFrame.url.split('/').pop();
    const name = n.callFrame.functionName || '(anonymous)';
    return (file ? `${name} ${file}:${n.callFrame.lineNumber + 1}` : name).replaceAll(';', ',');
  };
  const counts = new Map<number, number>();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const folded = new Map<string, number>();
  for (const [id, count] of counts) {
    const frames: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at);
      if (n) frames.push(frame(n));
    }
    frames.reverse();
    if (frames[0] === '(root)') frames.shift();
    if (frames.length === 0 || frames[0] === '(idle)') continue;
    const key = frames.join(';');
    folded.set(key, (folded.get(key) ?? 0) + count);
  }
  return [...folded.entries()].sort((a, b) => b[1] - a[1]).map(([stack, n]) => `${stack} ${n}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node --import tsx bench/fold-profile.ts PROFILE.cpuprofile > profile.folded');
    process.exit(2);
  }
  process.stdout.write(foldProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile).join('\n') + '\n');
}
