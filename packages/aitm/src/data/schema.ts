// Column roles of a tabular multi-task dataset (labels, sparse id features, dense features),
// and inference of those roles from a CSV header when no schema is configured.

/** A sparse (id) feature in a config: name, vocabulary size, embedding size. */
export interface SparseFeatureConfig {
  name: string;
  type: 'sparse';
  /** Embedding rows; ids >= vocabSize are read as 0 (the OOV slot). 'auto' = max id + 1 over the
   * data files (see scanVocab), which is what torch-rechub does. */
  vocabSize: number | 'auto';
  embedDim: number;
}

/** A dense (real-valued) feature in a config. */
export interface DenseFeatureConfig {
  name: string;
  type: 'dense';
}

/** A sparse or dense feature in a config. */
export type FeatureSpecConfig = SparseFeatureConfig | DenseFeatureConfig;

/** `labels` in task order; `features` in any order. A Dataset's `sparse` / `dense` arrays follow
 * the order of the sparse / dense entries of `features` respectively. */
export interface DataSchema {
  labels: string[];
  features: FeatureSpecConfig[];
}

/** The task labels, in order, when none are given: click, then purchase. */
export const DEFAULT_LABELS: readonly string[] = ['click', 'purchase'];

/** torch-rechub's multi-task Ali-CCP example embeds every sparse feature in 4 dimensions. */
export const DEFAULT_EMBED_DIM = 4;

/** Options of `inferSchema`: which columns are labels and which dense. */
export interface InferSchemaOptions {
  /** Label column names in task order (default ["click", "purchase"]). */
  labels?: readonly string[];
  /** embedDim for every inferred sparse feature (default 4). */
  embedDim?: number;
  /** vocabSize for every inferred sparse feature (default 'auto'). */
  vocabSize?: number | 'auto';
}

/** Ali-CCP's dense columns are "D" + digits/underscores (D109_14, D508); its sparse ids are bare
 * numbers (205, 109_14), so the leading D is what tells them apart. */
export function isDenseColumnName(name: string): boolean {
  return /^D[0-9_]+$/.test(name);
}

/** Roles from a header: the given label names are labels (all must be present), D-columns are
 * dense, every other column is a sparse id feature. Column order is kept. */
export function inferSchema(header: readonly string[], opts: InferSchemaOptions = {}): DataSchema {
  const labels = [...(opts.labels ?? DEFAULT_LABELS)];
  const missing = labels.filter((l) => !header.includes(l));
  if (missing.length > 0) {
    throw new Error(`inferSchema: label column(s) ${missing.join(', ')} not in header [${header.join(',')}]`);
  }
  const embedDim = opts.embedDim ?? DEFAULT_EMBED_DIM;
  const vocabSize = opts.vocabSize ?? 'auto';
  const features: FeatureSpecConfig[] = [];
  for (const name of header) {
    if (labels.includes(name)) continue;
    features.push(isDenseColumnName(name) ? { name, type: 'dense' } : { name, type: 'sparse', vocabSize, embedDim });
  }
  return { labels, features };
}

/** The schema's sparse features. */
export function sparseFeatures(schema: DataSchema): SparseFeatureConfig[] {
  return schema.features.filter((f): f is SparseFeatureConfig => f.type === 'sparse');
}

/** The schema's dense features. */
export function denseFeatures(schema: DataSchema): DenseFeatureConfig[] {
  return schema.features.filter((f): f is DenseFeatureConfig => f.type === 'dense');
}

/** A copy of `schema` with vocab sizes taken from `vocab` (e.g. scanVocab's result) wherever a
 * feature is listed there; other features keep their configured size. */
export function withVocab(schema: DataSchema, vocab: Readonly<Record<string, number>>): DataSchema {
  return {
    labels: [...schema.labels],
    features: schema.features.map((f) =>
      f.type === 'sparse' && Object.hasOwn(vocab, f.name) ? { ...f, vocabSize: vocab[f.name] } : { ...f },
    ),
  };
}

/** Same labels and same features (names, kinds, order): the condition for concatenating data. */
export function sameColumns(a: DataSchema, b: DataSchema): boolean {
  if (a.labels.length !== b.labels.length || a.features.length !== b.features.length) return false;
  if (a.labels.some((l, i) => l !== b.labels[i])) return false;
  return a.features.every((f, i) => f.name === b.features[i].name && f.type === b.features[i].type);
}
