/**
 * ethers v6 with steadyrpc's `ResilientProvider` in a real browser (headless Chromium), against two
 * anvil nodes behind fault proxies. See helpers/adapterSuite.ts.
 */
import { adapterSuite } from './helpers/adapterSuite.js';

adapterSuite('ethers', 'ethers ResilientProvider');
