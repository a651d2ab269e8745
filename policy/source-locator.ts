/**
 * Maps a path inside the parsed document (`["rules", 2, "when"]`) back to a line and column
 * in the source text, so every validation error can say exactly where it is.
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

/** A path into the parsed document. */
export type DocPath = readonly (string | number)[];

/** 1-based line and column. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** Render a document path for humans: `rules[2].when`, `actions["payments.transfer"].owner`. */
export function formatDocPath(path: DocPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? '(root)' : out;
}

/** Locates document paths in one parsed YAML/JSON text. */
export class SourceLocator {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    private readonly text: string,
  ) {}

  /** Position of an absolute character offset. */
  positionOf(offset: number): SourcePosition {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    const { line, col } = this.lines.linePos(clamped);
    return { line, column: col };
  }

  /**
   * Position of the node at `path`. With `key: true` the last segment's *key* is located
   * (for unknown or invalid keys). A path that runs past the document (a missing key)
   * resolves to its deepest existing ancestor.
   */
  locate(path: DocPath, options: { key?: boolean } = {}): SourcePosition {
    return this.positionOf(this.offsetOf(path, options));
  }

  /** Start offset of the node at `path` (see {@link locate}). */
  offsetOf(path: DocPath, options: { key?: boolean } = {}): number {
    return this.nodeAt(path, options)?.range?.[0] ?? 0;
  }

  /** The scalar at `path`, if the path resolves exactly to one. */
  scalarAt(path: DocPath): { type: string | undefined; start: number; end: number } | undefined {
    const node = this.nodeAt(path, {});
    if (!node || !isScalar(node) || !node.range) return undefined;
    if (this.resolvedDepth !== path.length) return undefined;
    return { type: node.type, start: node.range[0], end: node.range[1] };
  }

  /** The raw source text between two offsets. */
  slice(start: number, end: number): string {
    return this.text.slice(start, end);
  }

  private resolvedDepth = 0;

  private nodeAt(path: DocPath, options: { key?: boolean }): Node | undefined {
    let node: unknown = this.doc.contents;
    let best: Node | undefined = (node as Node | null) ?? undefined;
    this.resolvedDepth = 0;
    for (let i = 0; i < path.length; i++) {
      if (isAlias(node)) node = node.resolve(this.doc);
      const seg = path[i]!;
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
        if (!pair) break;
        if (last && options.key && pair.key && typeof pair.key === 'object') {
          this.resolvedDepth = i + 1;
          return pair.key as Node;
        }
        // `key:` with no value: point at the key.
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg];
        if (item === undefined) break;
        node = item;
      } else {
        break;
      }
      if (node && typeof node === 'object' && (node as Node).range) best = node as Node;
      this.resolvedDepth = i + 1;
    }
    return best;
  }
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}
