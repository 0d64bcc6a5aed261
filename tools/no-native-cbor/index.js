// cbor-x treats a falsy export as "no native acceleration" and uses its pure-JS decoder.
module.exports = null;
