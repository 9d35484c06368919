/**
 * Kinesis tagging: the stream-named operations (AddTagsToStream, RemoveTagsFromStream, ListTagsForStream)
 * and the ARN-named ones (TagResource, UntagResource, ListTagsForResource) that Terraform and CloudFormation
 * call. Tags live with the stream in the log, so they survive restarts; tags given at CreateStream are kept.
 */
import { TollstreamError } from '../../core/errors.ts';
import type { StreamTags } from '../../log/index.ts';
import { streamNameOf, streamOfArn, type Operation } from './context.ts';
import { asObject, optionalInteger, optionalString, requiredArray, requiredString, type Json } from './input.ts';

/** Kinesis' limits on tags. */
const TAG_LIMITS = { keyCharacters: 128, valueCharacters: 256, perCall: 10, keysPerRemove: 50, perStream: 50, perCreate: 50 } as const;

/** A `Tags` map of a request (CreateStream, AddTagsToStream, TagResource), validated as Kinesis does. */
function tagMap(input: Json, field: string, max: number): StreamTags {
  const map = asObject(input[field], field);
  const entries = Object.entries(map);
  if (entries.length < 1 || entries.length > max) {
    throw new TollstreamError('VALIDATION_FAILED', `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have between 1 and ${max} entries`, {
      context: { field },
    });
  }
  const out: Record<string, string> = {};
  for (const [key] of entries) {
    if (key.length < 1 || key.length > TAG_LIMITS.keyCharacters) {
      throw new TollstreamError('VALIDATION_FAILED', `tag key '${key.slice(0, 140)}' must be 1 to ${TAG_LIMITS.keyCharacters} characters`, { context: { field } });
    }
    out[key] = optionalString(map, key, { max: TAG_LIMITS.valueCharacters }) ?? '';
  }
  return out;
}

/** The optional `Tags` of CreateStream. */
export const createStreamTags = (input: Json): StreamTags | undefined =>
  input.Tags === undefined || input.Tags === null ? undefined : tagMap(input, 'Tags', TAG_LIMITS.perCreate);

function tagKeys(input: Json): string[] {
  return requiredArray(input, 'TagKeys', 1, TAG_LIMITS.keysPerRemove).map((key, i) => {
    if (typeof key !== 'string') throw new TollstreamError('MALFORMED_REQUEST', `'TagKeys.${i + 1}' must be a string`, { context: { field: 'TagKeys' } });
    return key;
  });
}

/** Sorted by key, as Kinesis lists them. */
const tagList = (tags: StreamTags | undefined): Json[] =>
  Object.keys(tags ?? {})
    .sort()
    .map((Key) => ({ Key, Value: tags![Key]! }));

const resourceStream = (input: Json): string => streamOfArn(requiredString(input, 'ResourceARN', { min: 1, max: 2048 }));

const addTagsToStream: Operation = async (ctx, input) => {
  await ctx.log.updateTags(streamNameOf(input), { set: tagMap(input, 'Tags', TAG_LIMITS.perCall) });
  return {};
};

const removeTagsFromStream: Operation = async (ctx, input) => {
  await ctx.log.updateTags(streamNameOf(input), { remove: tagKeys(input) });
  return {};
};

const listTagsForStream: Operation = async (ctx, input) => {
  const limit = optionalInteger(input, 'Limit', 1, TAG_LIMITS.perStream) ?? TAG_LIMITS.perStream;
  const after = optionalString(input, 'ExclusiveStartTagKey', { min: 1, max: TAG_LIMITS.keyCharacters });
  const all = tagList((await ctx.log.describeStream(streamNameOf(input))).tags).filter((t) => after === undefined || (t.Key as string) > after);
  return { Tags: all.slice(0, limit), HasMoreTags: all.length > limit };
};

const tagResource: Operation = async (ctx, input) => {
  await ctx.log.updateTags(resourceStream(input), { set: tagMap(input, 'Tags', TAG_LIMITS.perStream) });
  return {};
};

const untagResource: Operation = async (ctx, input) => {
  await ctx.log.updateTags(resourceStream(input), { remove: tagKeys(input) });
  return {};
};

const listTagsForResource: Operation = async (ctx, input) => ({ Tags: tagList((await ctx.log.describeStream(resourceStream(input))).tags) });

export const TAG_OPERATIONS: Readonly<Record<string, Operation>> = {
  AddTagsToStream: addTagsToStream,
  RemoveTagsFromStream: removeTagsFromStream,
  ListTagsForStream: listTagsForStream,
  TagResource: tagResource,
  UntagResource: untagResource,
  ListTagsForResource: listTagsForResource,
};
