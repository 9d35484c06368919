/**
 * Continuous SQL queries (`/v1/queries`): one card per query with its state, inputs and outputs, rates,
 * late rows, errors, watermark, lag and last checkpoint, its SQL and its EXPLAIN plan; Stop/Resume and Drop;
 * and a form that creates a query and points at the line and column of a SQL error. The cards are updated
 * in place on every poll, so focus and an open plan survive the refresh.
 */
import './queries.css';
import { ApiError } from '../../lib/api.ts';
import { queryOwners, type HealthBody } from '../../lib/leases.ts';
import { checkQueryName, formatAgo, formatDuration, formatRate, formatUtc, offsetOf, sqlErrorPlace, type CreateQueryBody, type QueryInfo } from '../../lib/queries.ts';
import { announce, cellText, h, replace } from '../../ui/dom.ts';
import { describeError, every, type ConsoleContext, type Page } from '../context.ts';

const POLL_MS = 2000;

export const queriesPage: Page = (container, ctx) => {
  const listError = h('div', { class: 'notice error', role: 'alert', hidden: true });
  const listStatus = h('p', { class: 'status', role: 'status' });
  const list = h('div', { class: 'query-list' }, h('p', { class: 'loading' }, 'Loading queries…'));
  const cards = new Map<string, QueryCard>();
  const form = createForm(ctx, async (name) => {
    await load();
    cards.get(name)?.focus();
  });
  replace(
    container,
    listError,
    h('section', { 'aria-labelledby': 'queries-h' }, h('h2', { id: 'queries-h' }, 'Queries on this server'), listStatus, list),
    form.element,
  );

  let unavailable = false;
  const dropped = (name: string) => {
    cards.get(name)?.element.remove();
    cards.delete(name);
    listStatus.textContent = `Query ${name} dropped.`;
    void load();
  };

  async function load(): Promise<void> {
    let queries: readonly QueryInfo[];
    let owners: ReadonlyMap<string, string | null>;
    try {
      const [answer, health] = await Promise.all([
        ctx.json<{ queries: QueryInfo[] }>('/v1/queries'),
        // Only for the node running each query on a cluster: a node starting or stopping answers 503, and the page goes on without.
        ctx.json<HealthBody>('/health').catch(() => undefined),
      ]);
      queries = answer.queries;
      owners = queryOwners(health);
      listError.hidden = true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        unavailable = true;
        replace(list, h('div', { class: 'notice info', 'data-testid': 'queries-unavailable' }, 'Continuous queries are not available on this server: GET /v1/queries answered 404 (queries.enabled is false, or the server is older). Try SQL on sample files with `tollstream query`.'));
        form.element.hidden = true;
        return;
      }
      listError.hidden = false;
      listError.textContent = `Could not load the queries: ${describeError(err)}`;
      return;
    }
    const now = Date.now();
    for (const [name, card] of cards) {
      if (!queries.some((q) => q.name === name)) {
        card.element.remove();
        cards.delete(name);
      }
    }
    for (const q of queries) {
      let card = cards.get(q.name);
      if (!card) {
        card = queryCard(ctx, q.name, dropped);
        cards.set(q.name, card);
      }
      card.update(q, now, owners.has(q.name) ? { node: owners.get(q.name)! } : undefined);
    }
    const wanted = queries.map((q) => cards.get(q.name)!.element);
    if (wanted.length === 0) {
      replace(list, h('p', { class: 'muted', 'data-testid': 'no-queries' }, 'No queries yet. Create one below.'));
    } else if (wanted.length !== list.children.length || wanted.some((el, i) => list.children[i] !== el)) {
      // Only reorder when the order changed: moving an element takes the focus away from it.
      list.replaceChildren(...wanted);
    }
  }

  return every(POLL_MS, async () => {
    if (!unavailable) await load();
  });
};

interface QueryCard {
  readonly element: HTMLElement;
  /** `runner`: on a cluster, the node holding the query's lease (null while nobody does); undefined on one node. */
  update(q: QueryInfo, now: number, runner?: { readonly node: string | null }): void;
  focus(): void;
}

/** A stat tile: its label and a value cell the tests find by `data-testid`. */
function tile(label: string, testid: string): { element: HTMLElement; value: HTMLElement } {
  const value = h('dd', { 'data-testid': testid }, '—');
  return { element: h('div', {}, h('dt', {}, label), value), value };
}

function queryCard(ctx: ConsoleContext, name: string, onDropped: (name: string) => void): QueryCard {
  const id = `query-${name}`;
  const heading = h('h3', { id: `${id}-h`, tabindex: -1 }, name);
  const state = h('span', { class: 'state', 'data-testid': 'query-state' });
  const runner = h('span', { class: 'small muted', 'data-testid': 'query-node', hidden: true });
  const failure = h('div', { class: 'notice error', hidden: true, 'data-testid': 'query-error' });
  const actionError = h('p', { class: 'error', role: 'alert' });
  const planBox = h('div', { id: `${id}-plan`, class: 'plan-box', hidden: true });
  const explainButton = h('button', { type: 'button', class: 'secondary small', 'aria-expanded': 'false', 'aria-controls': `${id}-plan`, 'aria-label': `EXPLAIN ${name}` }, 'EXPLAIN');
  const toggleButton = h('button', { type: 'button', class: 'secondary small' }, 'Stop');
  const dropButton = h('button', { type: 'button', class: 'danger small', 'aria-label': `Drop ${name}` }, 'Drop');

  const tiles = {
    inRate: tile('Rows in / s', 'rows-in-per-second'),
    outRate: tile('Rows out / s', 'rows-out-per-second'),
    inTotal: tile('Rows in', 'rows-in-total'),
    outTotal: tile('Rows out', 'rows-out-total'),
    late: tile('Late rows', 'late-rows'),
    errors: tile('Errors', 'errors'),
    watermark: tile('Watermark (UTC)', 'watermark'),
    lag: tile('Lag', 'lag'),
    pending: tile('Output rows pending', 'pending-output-rows'),
    checkpoint: tile('Last checkpoint', 'last-checkpoint'),
  };
  const inputs = h('dd', { 'data-testid': 'inputs' });
  const outputs = h('dd', { 'data-testid': 'outputs' });
  const errorStream = h('dd', {});
  const created = h('dd', {});
  const sql = h('code', {});

  const element = h(
    'article',
    { class: 'card query-card', 'data-query': name, 'aria-labelledby': `${id}-h` },
    h('header', {}, heading, state, runner, h('div', { class: 'row' }, explainButton, toggleButton, dropButton)),
    failure,
    actionError,
    h('dl', { class: 'query-stats', 'aria-label': `Figures of ${name}` }, ...Object.values(tiles).map((t) => t.element)),
    h('dl', { class: 'query-io' }, h('dt', {}, 'Reads'), inputs, h('dt', {}, 'Writes'), outputs, h('dt', {}, 'Error stream'), errorStream, h('dt', {}, 'Created'), created),
    h('details', {}, h('summary', {}, 'SQL'), h('pre', { class: 'sql', tabindex: 0, 'aria-label': `SQL of ${name}` }, sql)),
    planBox,
  );

  let current: QueryInfo | undefined;
  let busy = false;

  const act = async (what: string, run: () => Promise<void>) => {
    busy = true;
    setButtons();
    actionError.textContent = '';
    try {
      await run();
    } catch (err) {
      actionError.textContent = `Could not ${what} ${name}: ${describeError(err)}`;
    } finally {
      busy = false;
      setButtons();
    }
  };

  function setButtons(): void {
    const s = current?.state;
    const resumable = s === 'STOPPED' || s === 'FAILED';
    toggleButton.textContent = resumable ? 'Resume' : 'Stop';
    toggleButton.setAttribute('aria-label', `${resumable ? 'Resume' : 'Stop'} ${name}`);
    toggleButton.disabled = busy || s === 'STARTING' || s === 'STOPPING';
    dropButton.disabled = busy;
  }

  toggleButton.addEventListener('click', () => {
    const resume = current?.state === 'STOPPED' || current?.state === 'FAILED';
    void act(resume ? 'resume' : 'stop', async () => {
      const info = await ctx.json<QueryInfo>(`/v1/queries/${encodeURIComponent(name)}/${resume ? 'resume' : 'stop'}`, { method: 'POST' });
      update(info, Date.now());
      announce(`Query ${name} is ${info.state.toLowerCase()}.`);
    });
  });

  dropButton.addEventListener('click', () => {
    const ok = confirm(`Drop the query ${name}?\n\nIt stops for good and its checkpoint is deleted. Its output streams and its error stream (${current?.errorStream ?? `${name}_errors`}) stay.`);
    if (!ok) return;
    void act('drop', async () => {
      await ctx.json(`/v1/queries/${encodeURIComponent(name)}`, { method: 'DELETE' });
      announce(`Query ${name} dropped.`);
      onDropped(name);
    });
  });

  explainButton.addEventListener('click', () => {
    if (explainButton.getAttribute('aria-expanded') === 'true') {
      planBox.hidden = true;
      explainButton.setAttribute('aria-expanded', 'false');
      return;
    }
    explainButton.setAttribute('aria-expanded', 'true');
    planBox.hidden = false;
    replace(planBox, h('p', { class: 'loading' }, `Planning ${name}…`));
    void (async () => {
      try {
        const answer = await ctx.json<{ name: string; plan: string }>(`/v1/queries/${encodeURIComponent(name)}/explain`);
        replace(planBox, h('h4', { id: `${id}-plan-h` }, `EXPLAIN ${name}`), h('pre', { class: 'plan', tabindex: 0, 'aria-labelledby': `${id}-plan-h`, 'data-testid': 'plan' }, answer.plan));
      } catch (err) {
        replace(planBox, h('div', { class: 'notice error', role: 'alert' }, `EXPLAIN failed: ${describeError(err)}`));
      }
    })();
  });

  function update(q: QueryInfo, now: number, on?: { readonly node: string | null }): void {
    const changedState = current !== undefined && current.state !== q.state;
    current = q;
    state.textContent = q.state;
    state.className = `state state-${q.state.toLowerCase()}`;
    // ELSEWHERE alone does not say where: name the node that holds the query's lease.
    runner.hidden = on === undefined || q.state === 'STOPPED';
    runner.textContent = on === undefined ? '' : on.node === null ? ' no node runs it now (its lease is free)' : ` on ${on.node}`;
    failure.hidden = q.error === null;
    failure.textContent = q.error ? `Failed: ${q.error.message} (${q.error.code})` : '';
    const s = q.stats;
    tiles.inRate.value.textContent = formatRate(s.rowsInPerSecond);
    tiles.outRate.value.textContent = formatRate(s.rowsOutPerSecond);
    tiles.inTotal.value.textContent = cellText(s.rowsInTotal);
    tiles.outTotal.value.textContent = cellText(s.rowsOutTotal);
    tiles.late.value.textContent = cellText(s.lateRows);
    tiles.errors.value.textContent = cellText(s.errors);
    tiles.watermark.value.textContent = s.watermark === null ? 'no rows yet' : formatUtc(s.watermark);
    tiles.lag.value.textContent = formatDuration(s.lagMs);
    tiles.pending.value.textContent = cellText(s.pendingOutputRows);
    const cp = s.lastCheckpoint;
    replace(tiles.checkpoint.value, cp === null ? 'none yet' : `#${cp.id}, ${formatAgo(cp.at, now)}`, cp === null ? null : h('span', { class: 'small' }, ` (${formatDuration(cp.durationMs)})`));
    if (cp !== null) tiles.checkpoint.value.title = `checkpoint ${cp.id} at ${cp.at}, took ${cp.durationMs} ms, ${cp.bytes.toLocaleString('en-US')} bytes`;
    inputs.textContent = q.inputs.map((i) => (i.name === i.stream ? i.stream : `${i.name} ← ${i.stream}`)).join(', ') || '—';
    outputs.textContent = q.outputs.map((o) => (o.name === o.stream ? o.stream : `${o.name} → ${o.stream}`)).join(', ') || '—';
    errorStream.textContent = q.errorStream;
    created.textContent = formatUtc(q.createdAt);
    if (sql.textContent !== q.sql) sql.textContent = q.sql;
    setButtons();
    if (changedState) announce(`Query ${name} is ${q.state.toLowerCase()}.`);
  }

  return {
    element,
    update,
    focus: () => heading.focus(),
  };
}

/** The create form. `created` runs after the server made the query. */
function createForm(ctx: ConsoleContext, created: (name: string) => Promise<void>): { element: HTMLFormElement } {
  const nameInput = h('input', { id: 'query-name', name: 'name', autocomplete: 'off', spellcheck: 'false', maxlength: 64, 'aria-describedby': 'query-name-hint query-name-error' });
  const nameError = h('p', { id: 'query-name-error', class: 'error', role: 'alert' });
  const sqlInput = h('textarea', { id: 'query-sql', name: 'sql', class: 'code', rows: 10, spellcheck: 'false', autocapitalize: 'off', 'aria-describedby': 'query-sql-hint query-sql-error' });
  const sqlError = h('div', { id: 'query-sql-error', role: 'alert' });
  const inputInput = h('input', { id: 'query-input', name: 'input', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'query-input-hint' });
  const formError = h('p', { class: 'error', role: 'alert' });
  const formStatus = h('p', { class: 'status', role: 'status' });
  const createButton = h('button', { type: 'submit' }, 'Create query');
  const element = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'create-h' },
    h('h2', { id: 'create-h' }, 'New query'),
    h('div', { class: 'field narrow' }, h('label', { for: 'query-name' }, 'Name'), nameInput, h('p', { id: 'query-name-hint', class: 'hint' }, "Letters, digits, '_' and '-', up to 64. Errors go to the stream <name>_errors."), nameError),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'query-sql' }, 'SQL'),
      h('p', { id: 'query-sql-hint', class: 'hint' }, "Flink-style CREATE TABLE … WITH ('stream' = '…') and INSERT INTO, or Kinesis Analytics SQL. Ctrl+Enter creates the query."),
      sqlInput,
      sqlError,
    ),
    h('div', { class: 'field narrow' }, h('label', { for: 'query-input' }, 'Input stream (Kinesis Analytics SQL only, optional)'), inputInput, h('p', { id: 'query-input-hint', class: 'hint' }, 'The log stream read as SOURCE_SQL_STREAM_001, e.g. toll_transactions.')),
    formError,
    createButton,
    formStatus,
  );

  const clearErrors = () => {
    formError.textContent = '';
    nameError.textContent = '';
    sqlError.replaceChildren();
    nameInput.removeAttribute('aria-invalid');
    sqlInput.removeAttribute('aria-invalid');
  };
  const nameProblem = (text: string) => {
    nameError.textContent = text;
    nameInput.setAttribute('aria-invalid', 'true');
    nameInput.focus();
  };
  // Typing takes back a field's red mark. A SQL error's message stays until the next try, as a map of the spot.
  nameInput.addEventListener('input', () => {
    nameInput.removeAttribute('aria-invalid');
    nameError.textContent = '';
  });
  sqlInput.addEventListener('input', () => sqlInput.removeAttribute('aria-invalid'));
  sqlInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      element.requestSubmit();
    }
  });

  element.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors();
    formStatus.textContent = '';
    const name = nameInput.value.trim();
    const sql = sqlInput.value;
    const input = inputInput.value.trim();
    const bad = checkQueryName(name);
    if (bad) return nameProblem(bad);
    if (sql.trim() === '') {
      replace(sqlError, h('p', { class: 'error' }, 'Enter the SQL of the query.'));
      sqlInput.setAttribute('aria-invalid', 'true');
      sqlInput.focus();
      return;
    }
    const body: CreateQueryBody = { name, sql, ...(input === '' ? {} : { input }) };
    createButton.disabled = true;
    try {
      const info = await ctx.json<QueryInfo>('/v1/queries', { method: 'POST', body });
      formStatus.textContent = `Query ${name} created: ${info.state}.`;
      nameInput.value = '';
      sqlInput.value = '';
      inputInput.value = '';
      await created(name);
    } catch (err) {
      showCreateError(err, sql);
    } finally {
      createButton.disabled = false;
    }
  });

  function showCreateError(err: unknown, sql: string): void {
    if (!(err instanceof ApiError)) {
      formError.textContent = `The query was not created: ${describeError(err)}`;
      return;
    }
    const place = sqlErrorPlace(err.code, err.message, err.context);
    if (place) {
      // The SQL stays as typed; the caret goes to the spot, and the server's excerpt (line, caret, hint) shows.
      replace(
        sqlError,
        h(
          'div',
          { class: 'sql-error', 'data-testid': 'sql-error' },
          h('p', {}, `SQL error at line ${place.line}, column ${place.column} (${err.code === 'SQL_SYNTAX' ? 'syntax' : 'planning'}):`),
          h('pre', { tabindex: 0 }, err.message.replace(/^line \d+, column \d+: /, '')),
        ),
      );
      sqlInput.setAttribute('aria-invalid', 'true');
      sqlInput.focus();
      const at = offsetOf(sql, place);
      sqlInput.setSelectionRange(at, Math.min(at + 1, sql.length));
      return;
    }
    if (err.code === 'SQL_SYNTAX' || err.code === 'SQL_PLAN') {
      replace(sqlError, h('div', { class: 'sql-error', 'data-testid': 'sql-error' }, h('p', {}, 'SQL error:'), h('pre', { tabindex: 0 }, err.message)));
      sqlInput.setAttribute('aria-invalid', 'true');
      sqlInput.focus();
      return;
    }
    if (err.code === 'QUERY_EXISTS' || (err.code === 'INVALID_ARGUMENT' && /query name/.test(err.message))) {
      return nameProblem(`${err.message} (${err.code})`);
    }
    formError.textContent = `The query was not created: ${describeError(err)}`;
  }

  return { element };
}
