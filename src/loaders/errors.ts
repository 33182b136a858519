/** A model folder or file that cannot be loaded as given; the message names the path at fault. */
export class LoaderError extends Error {
  override name = 'LoaderError';
}
