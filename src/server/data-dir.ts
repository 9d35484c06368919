/**
 * The data directory's own files: the lock that keeps a second server out, the secret that makes shard
 * iterators survive a restart, and the permissions that keep other users out of it all.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

export const LOCK_FILE = 'tollstream.lock';
export const SECRET_FILE = 'secret';

export interface DataDirLock {
  readonly file: string;
  /** Removes the lock file if it is still ours. */
  release(): void;
}

/**
 * Takes `<dataDir>/tollstream.lock`, created exclusively and holding our pid. A lock whose pid is no longer
 * running (the previous server was killed with SIGKILL or the machine lost power) is taken over with a warning.
 */
export function lockDataDir(dataDir: string, logger: Logger): DataDirLock {
  const file = path.join(dataDir, LOCK_FILE);
  const mine = `${process.pid}\n`;
  /** Set when the disk was too full for the pid: the lock file is then empty. */
  let withoutPid = false;
  for (let attempt = 0; ; attempt++) {
    try {
      withoutPid = !createLockFile(file, mine, logger);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw lockIoError(file, err);
    }
    const holder = readPid(file);
    if (holder !== undefined && isRunning(holder)) {
      throw new TollstreamError(
        'DATA_DIR_LOCKED',
        `the data directory ${dataDir} is in use by another tollstream process (pid ${holder}); stop it or choose another --data-dir`,
        { context: { dataDir, pid: holder, lockFile: file } },
      );
    }
    logger.warn('taking over a stale data directory lock; the previous server did not stop cleanly', { lockFile: file, stalePid: holder });
    try {
      fs.unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw lockIoError(file, err);
    }
  }
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      try {
        const content = fs.readFileSync(file, 'utf8');
        if (content === mine || (withoutPid && content === '')) fs.unlinkSync(file);
      } catch {
        // Already gone: nothing to release.
      }
    },
  };
}

/**
 * Creates the lock file exclusively and writes our pid into it; returns false if the disk was too full for the
 * pid. The file alone is the lock, so the server still starts (a full disk must not stop it serving reads); a
 * later start takes an empty lock file for a stale one, as it would a lock whose pid is gone.
 */
function createLockFile(file: string, content: string, logger: Logger): boolean {
  const fd = fs.openSync(file, 'wx', 0o644);
  let written: unknown;
  try {
    fs.writeSync(fd, content);
  } catch (err) {
    written = err;
  } finally {
    fs.closeSync(fd);
  }
  if (written === undefined) return true;
  const code = (written as NodeJS.ErrnoException).code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') {
    fs.unlinkSync(file);
    throw written;
  }
  logger.warn('the disk is full: the data directory lock file holds no pid', { lockFile: file });
  return false;
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockIoError(file: string, cause: unknown): TollstreamError {
  return new TollstreamError('IO_ERROR', `cannot create the lock file ${file}: ${(cause as Error).message}`, {
    context: { lockFile: file },
    cause,
  });
}

/**
 * The server's secret (32 random bytes, hex) from `<dataDir>/secret`, created with mode 0600 on first start.
 * A file readable by others is tightened to 0600 with a warning.
 */
export function loadOrCreateSecret(dataDir: string, logger: Logger): Buffer {
  const file = path.join(dataDir, SECRET_FILE);
  try {
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex') + '\n', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new TollstreamError('IO_ERROR', `cannot create ${file}: ${(err as Error).message}`, { context: { file }, cause: err });
    }
  }
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) {
    logger.warn('the secret file was readable by others; restricting it to its owner', { file, mode: mode.toString(8) });
    fs.chmodSync(file, 0o600);
  }
  const hex = fs.readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new TollstreamError('CONFIG_INVALID', `${file} does not hold a 64-digit hex secret; delete it to have a new one made (open shard iterators become invalid)`, {
      context: { file },
    });
  }
  return Buffer.from(hex, 'hex');
}

/** Modes of everything the server writes: the owner only. */
const PRIVATE_UMASK = 0o077;
const PRIVATE_DIR_MODE = 0o700;

/**
 * Makes everything the server writes from now on readable by its owner only (a umask of 077: directories
 * 0700, files 0600, whichever component writes them: log, tables, warehouse, lake, checkpoints), and tightens
 * an existing data directory that others could enter to 0700, saying so. Records, customers and tokens are in
 * these files; the umask is the process's, so it also covers a warehouse or lake placed outside the
 * directory. Call it before creating the directory.
 */
export function restrictDataDir(dataDir: string, logger: Logger): void {
  if (isMainThread) process.umask(PRIVATE_UMASK);
  else logger.warn('cannot set the umask in a worker thread: files the server writes keep the process umask', { dataDir });
  let mode: number;
  try {
    mode = fs.statSync(dataDir).mode & 0o777;
  } catch {
    return; // Not there yet: it is created under the umask.
  }
  if ((mode & ~PRIVATE_DIR_MODE) === 0) return;
  try {
    fs.chmodSync(dataDir, PRIVATE_DIR_MODE);
    logger.info('the data directory was open to other users; restricted it to its owner', { dataDir, was: mode.toString(8), now: PRIVATE_DIR_MODE.toString(8) });
  } catch (err) {
    logger.warn('the data directory is open to other users and could not be restricted; chmod 700 it', { dataDir, mode: mode.toString(8), err: err as Error });
  }
}
